/**
 * Warm start of the centroid store: k-means++ seeding on the warm-up sample, refined by a few
 * Lloyd iterations on the same sample, best of several restarts by inertia.
 *
 * Why not k-means++ alone: one draw of k-means++ can put two seeds in one true cluster and none
 * in another; the online update never undoes that (both halves keep their share of the points,
 * so neither is "dying" and recovery does not fire), and the store then reports a split cluster
 * and a merged pair for as long as it runs. Lloyd iterations on the sample and a few restarts,
 * as scikit-learn's KMeans (`n_init`) and MiniBatchKMeans (`init_size`, `n_init`) do, make that
 * far less likely at a cost paid once.
 *
 * Parameters: `sample` (n × dim, not modified), `k` (1 ≤ k ≤ n), `kind`, `rng` (consumed),
 * `restarts` (≥ 1; 1 with 0 iterations is plain k-means++), `iterations` (Lloyd steps per
 * restart, ≥ 0; each stops early once no assignment changes).
 *
 * Returns the k × dim centroids of the restart with the lowest inertia on the sample (sum of
 * squared euclidean distances, or of cosine distances).
 *
 * Example: points [0,0], [0,2], [10,10], [10,12] (dim 2), k = 2, SeededRandom(1), 3 restarts,
 * 10 iterations → centroids [10, 11] and [0, 1] (the two pair means).
 */
import { kMeansPlusPlus } from './k-means-plus-plus.js';
import { assignNearest, rowSquaredNorms, type DistanceKind } from './nearest-centroid.js';
import type { SeededRandom } from './seeded-random.js';

export interface WarmStartOptions {
  restarts: number;
  iterations: number;
}

export function warmStart(
  sample: Float32Array,
  dim: number,
  k: number,
  kind: DistanceKind,
  rng: SeededRandom,
  options: WarmStartOptions,
): Float64Array {
  const n = (sample.length / dim) | 0;
  const rows = new Int32Array(n);
  const distances = new Float32Array(n);
  const norms2 = new Float64Array(k);
  let best: Float64Array | undefined;
  let bestInertia = Number.POSITIVE_INFINITY;
  for (let restart = 0; restart < Math.max(1, options.restarts); restart++) {
    const centroids = kMeansPlusPlus(sample, dim, k, kind, rng);
    rows.fill(-1);
    for (let iteration = 0; iteration < options.iterations; iteration++) {
      rowSquaredNorms(centroids, k, dim, norms2);
      const before = rows.slice();
      assignNearest(sample, dim, centroids, norms2, k, kind, rows, distances);
      if (iteration > 0 && rows.every((r, i) => r === before[i])) break;
      recomputeMeans(sample, dim, k, rows, centroids);
    }
    rowSquaredNorms(centroids, k, dim, norms2);
    assignNearest(sample, dim, centroids, norms2, k, kind, rows, distances);
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      const d = distances[i] as number;
      inertia += kind === 'euclidean' ? d * d : d;
    }
    if (inertia < bestInertia) {
      bestInertia = inertia;
      best = centroids;
    }
  }
  return best as Float64Array;
}

/** Means of the assigned points; a centroid that lost every point keeps its position. */
function recomputeMeans(
  sample: Float32Array,
  dim: number,
  k: number,
  rows: Int32Array,
  centroids: Float64Array,
): void {
  const sums = new Float64Array(k * dim);
  const counts = new Float64Array(k);
  for (let i = 0; i < rows.length; i++) {
    const j = rows[i] as number;
    counts[j] = (counts[j] as number) + 1;
    for (let t = 0; t < dim; t++)
      sums[j * dim + t] = (sums[j * dim + t] as number) + (sample[i * dim + t] as number);
  }
  for (let j = 0; j < k; j++) {
    const c = counts[j] as number;
    if (c === 0) continue;
    for (let t = 0; t < dim; t++) centroids[j * dim + t] = (sums[j * dim + t] as number) / c;
  }
}
