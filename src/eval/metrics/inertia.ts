import { checkSameLength, encodeLabels } from './encode-labels.js';
import { clusterMeans, toPointMatrix } from './point-matrix.js';

/**
 * Within-cluster sum of squared euclidean distances: the k-means objective, scikit-learn's
 * `KMeans.inertia_`. Without `centroids`, each point is measured against its cluster's mean
 * (labels may be any values). With `centroids`, point i is measured against `centroids[labels[i]]`,
 * so labels must then be indices 0..centroids.length-1 — what a k-means model's assignment gives.
 * Defined for any number of clusters; 0 for no points. O(n * dim).
 */
export function inertia(
  points: readonly ArrayLike<number>[],
  labels: ArrayLike<number>,
  centroids?: readonly ArrayLike<number>[],
): number {
  const matrix = toPointMatrix(points);
  checkSameLength('points', matrix.n, 'labels', labels.length);
  const { data, n, dim } = matrix;
  let centres: Float64Array;
  let centreOf: (i: number) => number;
  if (centroids === undefined) {
    const { codes, counts } = encodeLabels(labels);
    centres = clusterMeans(matrix, codes, counts);
    centreOf = (i) => codes[i]!;
  } else {
    const given = toPointMatrix(centroids);
    if (given.n > 0 && n > 0 && given.dim !== dim) {
      throw new RangeError(`centroids have ${given.dim} features but points have ${dim}`);
    }
    for (let i = 0; i < n; i++) {
      const label = labels[i]!;
      if (!Number.isInteger(label) || label < 0 || label >= given.n) {
        throw new RangeError(
          `with centroids, labels[${i}] must be an index 0..${given.n - 1}; got ${label}`,
        );
      }
    }
    centres = given.data;
    centreOf = (i) => labels[i]!;
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const base = centreOf(i) * dim;
    for (let d = 0; d < dim; d++) total += (data[i * dim + d]! - centres[base + d]!) ** 2;
  }
  return total;
}
