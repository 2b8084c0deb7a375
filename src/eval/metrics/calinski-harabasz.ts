import { checkSameLength, encodeLabels } from './encode-labels.js';
import { checkClusterCount } from './metric-undefined-error.js';
import { clusterMeans, toPointMatrix } from './point-matrix.js';

/**
 * Calinski-Harabasz index (variance ratio criterion), as scikit-learn's
 * `calinski_harabasz_score`: [B / (k - 1)] / [W / (n - k)] with B the between-cluster dispersion
 * (sum over clusters of size times squared distance of its mean to the global mean) and W the
 * within-cluster sum of squares. Higher is better. Returns 1 when W is exactly 0 (every cluster a
 * single repeated point), as scikit-learn does. Needs 2 <= clusters <= n - 1, else throws
 * MetricUndefinedError. O(n * dim).
 */
export function calinskiHarabasz(
  points: readonly ArrayLike<number>[],
  labels: ArrayLike<number>,
): number {
  const matrix = toPointMatrix(points);
  checkSameLength('points', matrix.n, 'labels', labels.length);
  const { codes, counts } = encodeLabels(labels);
  const k = counts.length;
  checkClusterCount('calinskiHarabasz', k, matrix.n);
  const { data, n, dim } = matrix;
  const means = clusterMeans(matrix, codes, counts);
  const globalMean = clusterMeans(matrix, new Int32Array(n), Int32Array.of(n));

  let between = 0;
  for (let c = 0; c < k; c++) {
    let squared = 0;
    for (let d = 0; d < dim; d++) squared += (means[c * dim + d]! - globalMean[d]!) ** 2;
    between += counts[c]! * squared;
  }
  let within = 0;
  for (let i = 0; i < n; i++) {
    const base = codes[i]! * dim;
    for (let d = 0; d < dim; d++) within += (data[i * dim + d]! - means[base + d]!) ** 2;
  }
  if (within === 0) return 1;
  return (between * (n - k)) / (within * (k - 1));
}
