import { contingencyTable } from './contingency-table.js';
import { MetricUndefinedError } from './metric-undefined-error.js';

/**
 * Purity: the share of samples that belong to the majority class of their predicted cluster,
 * i.e. the sum over clusters of the largest count in that column of the contingency table,
 * divided by n. Not in scikit-learn; the reference values come from its `contingency_matrix`.
 * In (0, 1]; 1 for all singleton clusters, so read it next to the number of clusters.
 * Throws MetricUndefinedError for no samples. O(n + cells).
 */
export function purity(labelsTrue: ArrayLike<number>, labelsPred: ArrayLike<number>): number {
  const table = contingencyTable(labelsTrue, labelsPred);
  if (table.n === 0)
    throw new MetricUndefinedError('purity', 'purity needs at least 1 sample; got 0');
  const majority = new Array<number>(table.clusters.length).fill(0);
  for (const { col, count } of table.cells) majority[col] = Math.max(majority[col]!, count);
  return majority.reduce((sum, count) => sum + count, 0) / table.n;
}
