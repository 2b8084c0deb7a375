import { checkSameLength, encodeLabels } from './encode-labels.js';
import { checkClusterCount } from './metric-undefined-error.js';
import { clusterMeans, toPointMatrix } from './point-matrix.js';

// numpy.isclose(x, 0) with its default atol; scikit-learn uses it for both degenerate checks.
const CLOSE_TO_ZERO = 1e-8;

/**
 * Davies-Bouldin index, as scikit-learn's `davies_bouldin_score`: the mean over clusters i of
 * max_{j != i} (s_i + s_j) / d(c_i, c_j), with s the mean euclidean distance of a cluster's points
 * to its centroid c. Lower is better, 0 is the minimum. Returns 0 when every s is (close to) 0 or
 * all centroids coincide; two distinct clusters with the same centroid contribute 0 to each
 * other's maximum (scikit-learn divides by infinity there). Needs 2 <= clusters <= n - 1, else
 * throws MetricUndefinedError. O(n * dim + k^2 * dim).
 */
export function daviesBouldin(
  points: readonly ArrayLike<number>[],
  labels: ArrayLike<number>,
): number {
  const matrix = toPointMatrix(points);
  checkSameLength('points', matrix.n, 'labels', labels.length);
  const { codes, counts } = encodeLabels(labels);
  const k = counts.length;
  checkClusterCount('daviesBouldin', k, matrix.n);
  const { data, n, dim } = matrix;
  const centroids = clusterMeans(matrix, codes, counts);

  const spread = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    spread[c] = spread[c]! + distance(data, i * dim, centroids, c * dim, dim);
  }
  for (let c = 0; c < k; c++) spread[c] = spread[c]! / counts[c]!;

  const separation = new Float64Array(k * k);
  let allCentroidsClose = true;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const d = a === b ? 0 : distance(centroids, a * dim, centroids, b * dim, dim);
      separation[a * k + b] = d;
      if (Math.abs(d) > CLOSE_TO_ZERO) allCentroidsClose = false;
    }
  }
  if (allCentroidsClose || spread.every((s) => Math.abs(s) <= CLOSE_TO_ZERO)) return 0;

  let total = 0;
  for (let a = 0; a < k; a++) {
    let worst = 0;
    for (let b = 0; b < k; b++) {
      const d = separation[a * k + b]!;
      // Coinciding centroids (including a cluster with itself) count as infinitely far apart.
      if (d === 0) continue;
      worst = Math.max(worst, (spread[a]! + spread[b]!) / d);
    }
    total += worst;
  }
  return total / k;
}

function distance(x: Float64Array, xAt: number, y: Float64Array, yAt: number, dim: number): number {
  let squared = 0;
  for (let d = 0; d < dim; d++) {
    const diff = x[xAt + d]! - y[yAt + d]!;
    squared += diff * diff;
  }
  return Math.sqrt(squared);
}
