/**
 * Normalised Shannon entropy of cluster sizes: H(p) / ln(k), in [0, 1], where k is the number
 * of categories given (clusters, empty ones included). 1 means every cluster is the same
 * size; a value falling toward 0 means a few clusters are swallowing the stream (collapse).
 * With one category the entropy is defined as 1 (nothing can be unbalanced); with no records,
 * 0.
 *
 * Example: normalisedEntropy([10, 10, 10, 10]) = 1; normalisedEntropy([1, 0]) = 0;
 * normalisedEntropy([3, 1]) = −(0.75 ln 0.75 + 0.25 ln 0.25) / ln 2 ≈ 0.8113.
 */
export function normalisedEntropy(counts: ArrayLike<number>): number {
  const k = counts.length;
  let total = 0;
  for (let i = 0; i < k; i++) total += counts[i]!;
  if (!(total > 0)) return 0;
  if (k === 1) return 1;
  let h = 0;
  for (let i = 0; i < k; i++) {
    const p = counts[i]! / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return h / Math.log(k);
}
