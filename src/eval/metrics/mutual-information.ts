import type { ContingencyTable } from './contingency-table.js';

/**
 * Shannon entropy in nats of a labelling given its counts per label, as scikit-learn's private
 * `_entropy`; 0 for a single label. Callers decide what no samples mean (scikit-learn's
 * convention there is 1, which only matters to metrics that return early for n = 0).
 */
export function entropy(counts: readonly number[], n: number): number {
  if (counts.length <= 1) return 0;
  const logN = Math.log(n);
  let sum = 0;
  for (const count of counts) sum += (count / n) * (Math.log(count) - logN);
  return -sum;
}

/**
 * Mutual information in nats between the rows and columns of a contingency table, written term by
 * term like scikit-learn's `mutual_info_score` (same rounding guard: terms below machine epsilon
 * count as 0, and the sum is clipped at 0) so that exact-zero checks downstream agree with it.
 */
export function mutualInformation(table: ContingencyTable): number {
  const { rowSums, colSums, n } = table;
  if (rowSums.length === 1 || colSums.length === 1) return 0;
  const logN = Math.log(n);
  let sum = 0;
  for (const { row, col, count } of table.cells) {
    const share = count / n;
    const logOuter = -Math.log(rowSums[row]! * colSums[col]!) + logN + logN;
    const term = share * (Math.log(count) - logN) + share * logOuter;
    if (Math.abs(term) >= Number.EPSILON) sum += term;
  }
  return Math.max(0, sum);
}
