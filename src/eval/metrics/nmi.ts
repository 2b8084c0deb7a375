import { contingencyTable } from './contingency-table.js';
import { entropy, mutualInformation } from './mutual-information.js';

export interface NmiOptions {
  /** How the two entropies are averaged into the normaliser; scikit-learn's default is arithmetic. */
  averageMethod?: 'arithmetic' | 'geometric' | 'min' | 'max';
}

/**
 * Normalized mutual information, as scikit-learn's `normalized_mutual_info_score`:
 * MI(true, pred) / mean(H(true), H(pred)), in [0, 1], symmetric and invariant to relabelling.
 * Edge cases as there: 1 when both labellings have a single label (or there are no samples), 0
 * whenever MI is 0 (e.g. one side constant and the other not). O(n + cells).
 */
export function nmi(
  labelsTrue: ArrayLike<number>,
  labelsPred: ArrayLike<number>,
  options: NmiOptions = {},
): number {
  const table = contingencyTable(labelsTrue, labelsPred);
  const average = options.averageMethod ?? 'arithmetic';
  if (!['arithmetic', 'geometric', 'min', 'max'].includes(average)) {
    throw new RangeError(
      `nmi averageMethod must be 'arithmetic', 'geometric', 'min' or 'max'; got '${String(average)}'`,
    );
  }
  const nClasses = table.classes.length;
  if (nClasses === table.clusters.length && nClasses <= 1) return 1;
  const mi = mutualInformation(table);
  if (mi === 0) return 0;
  const hTrue = entropy(table.rowSums, table.n);
  const hPred = entropy(table.colSums, table.n);
  return mi / generalizedAverage(hTrue, hPred, average);
}

function generalizedAverage(u: number, v: number, method: NmiOptions['averageMethod']): number {
  switch (method) {
    case 'geometric':
      return Math.sqrt(u * v);
    case 'min':
      return Math.min(u, v);
    case 'max':
      return Math.max(u, v);
    default:
      return (u + v) / 2;
  }
}
