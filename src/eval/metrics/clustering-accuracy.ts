import { contingencyTable, denseContingency } from './contingency-table.js';
import { hungarian } from './hungarian.js';
import { MetricUndefinedError } from './metric-undefined-error.js';

/**
 * Unsupervised clustering accuracy: the share of samples labelled correctly under the best
 * one-to-one mapping of predicted clusters to true classes, found by the Hungarian method on the
 * contingency table (maximising matched counts). With more clusters than classes (or fewer) the
 * surplus ones match nothing and count as errors. Reference values come from SciPy's
 * `linear_sum_assignment` on scikit-learn's `contingency_matrix`. In (0, 1]. Throws
 * MetricUndefinedError for no samples.
 *
 * Cost: O(n) plus O(k^2 * K) for k = min and K = max of the two label counts; fine up to a few
 * thousand distinct labels, not for n samples that are all singletons at large n.
 */
export function clusteringAccuracy(
  labelsTrue: ArrayLike<number>,
  labelsPred: ArrayLike<number>,
): number {
  const table = contingencyTable(labelsTrue, labelsPred);
  if (table.n === 0) {
    throw new MetricUndefinedError(
      'clusteringAccuracy',
      'clusteringAccuracy needs at least 1 sample; got 0',
    );
  }
  const { total } = hungarian(denseContingency(table), { maximize: true });
  return total / table.n;
}
