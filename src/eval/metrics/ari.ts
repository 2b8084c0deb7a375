import { contingencyTable } from './contingency-table.js';

/**
 * Adjusted Rand index, as scikit-learn's `adjusted_rand_score`: the Rand index corrected for
 * chance, 1 for identical partitions (up to relabelling), about 0 for independent ones, possibly
 * negative. 1 when no pair of samples is split differently by the two labellings (which covers
 * no samples, one sample, and both sides all singletons or both constant). O(n + cells).
 */
export function ari(labelsTrue: ArrayLike<number>, labelsPred: ArrayLike<number>): number {
  const table = contingencyTable(labelsTrue, labelsPred);
  const { rowSums, colSums, n } = table;
  // Pair confusion counts, as scikit-learn's `pair_confusion_matrix` (ordered pairs). Each is at
  // most n^2, exact in a double for n below 9e7.
  let sumSquares = 0;
  let sameClass = 0;
  let sameCluster = 0;
  for (const { row, col, count } of table.cells) {
    sumSquares += count * count;
    sameCluster += count * colSums[col]!;
    sameClass += count * rowSums[row]!;
  }
  const tp = sumSquares - n;
  const fp = sameCluster - sumSquares;
  const fn = sameClass - sumSquares;
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0 && fp === 0) return 1;
  // The products pass 2^53 from about n = 10,000; scikit-learn multiplies Python integers
  // exactly and rounds once at the end, and BigInt does the same here.
  const [bTp, bFp, bFn, bTn] = [tp, fp, fn, tn].map(BigInt) as [bigint, bigint, bigint, bigint];
  const numerator = bTp * bTn - bFn * bFp;
  const denominator = (bTp + bFn) * (bFn + bTn) + (bTp + bFp) * (bFp + bTn);
  return (2 * Number(numerator)) / Number(denominator);
}
