import { encodeLabels, checkSameLength } from './encode-labels.js';
import { checkClusterCount } from './metric-undefined-error.js';
import { sampleIndices } from './sample-indices.js';
import { toPointMatrix } from './point-matrix.js';
import type { PointMatrix, Points } from './point-matrix.js';

export interface SilhouetteOptions {
  /** Distance between points: 'euclidean' (default) or 'cosine' (1 - cosine similarity). */
  metric?: 'euclidean' | 'cosine';
  /**
   * Score a random subset of this many points (at least 1) instead of all of them. Use it past a
   * few thousand points: the exact score is O(n^2 * dim). The subset is drawn without
   * replacement from a seeded generator, so the value is reproducible here but equals
   * scikit-learn's `sample_size` result only in distribution (its generator is NumPy's).
   */
  sampleSize?: number;
  /** Seed of the sampling generator (any 32-bit integer); default 0. Ignored without sampleSize. */
  seed?: number;
  /** Row length, required when `points` is one flat row-major Float32Array or Float64Array. */
  dim?: number;
}

/**
 * Mean silhouette coefficient, as scikit-learn's `silhouette_score`: for each point,
 * (b - a) / max(a, b) with a its mean distance to the rest of its cluster and b its mean distance
 * to the nearest other cluster; a point alone in its cluster scores 0, and so does a point with
 * a = b = 0 (scikit-learn's `nan_to_num`). Needs 2 <= clusters <= n - 1, else throws
 * MetricUndefinedError.
 *
 * Cost: O(n^2 * dim) time and O(n * dim + k) memory: about 2 s for n = 10,000 in 16 dimensions
 * on one core (0.2 s with sampleSize 2,000), growing with n^2; past that pass `sampleSize`.
 *
 * Example: silhouette([[0], [1], [10], [11]], [0, 0, 1, 1]) is (19/21 + 17/19) / 2 = 359/399
 * (every a is 1; b is 10.5 for the outer points and 9.5 for the inner ones); a unit test pins it.
 */
export function silhouette(
  points: Points,
  labels: ArrayLike<number>,
  options: SilhouetteOptions = {},
): number {
  let matrix = toPointMatrix(points, options.dim);
  checkSameLength('points', matrix.n, 'labels', labels.length);
  let sampledLabels = labels;
  if (options.sampleSize !== undefined) {
    const { sampleSize } = options;
    if (!Number.isInteger(sampleSize) || sampleSize < 1) {
      throw new RangeError(`silhouette sampleSize must be a positive integer; got ${sampleSize}`);
    }
    const indices = sampleIndices(matrix.n, sampleSize, options.seed ?? 0);
    matrix = selectRows(matrix, indices);
    sampledLabels = Array.from(indices, (i) => labels[i]!);
  }
  const { codes, counts } = encodeLabels(sampledLabels);
  checkClusterCount('silhouette', counts.length, matrix.n);
  const metric = options.metric ?? 'euclidean';
  if (metric !== 'euclidean' && metric !== 'cosine') {
    throw new RangeError(
      `silhouette metric must be 'euclidean' or 'cosine'; got '${String(metric)}'`,
    );
  }
  return silhouetteMean(metric === 'cosine' ? unitRows(matrix) : matrix, codes, counts, metric);
}

function silhouetteMean(
  matrix: PointMatrix,
  codes: Int32Array,
  counts: Int32Array,
  metric: 'euclidean' | 'cosine',
): number {
  // Points grouped by cluster so that each inner loop sums one contiguous block into a scalar.
  const { n, dim } = matrix;
  const k = counts.length;
  const start = new Int32Array(k + 1);
  for (let c = 0; c < k; c++) start[c + 1] = start[c]! + counts[c]!;
  const fill = start.slice(0, k);
  const grouped = new Float64Array(n * dim);
  const groupedCode = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    const slot = fill[c]!;
    fill[c] = slot + 1;
    grouped.set(matrix.data.subarray(i * dim, (i + 1) * dim), slot * dim);
    groupedCode[slot] = c;
  }
  const distanceSum = metric === 'cosine' ? cosineDistanceSum : euclideanDistanceSum;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const own = groupedCode[i]!;
    const ownSize = counts[own]!;
    // A singleton's a is 0/0 in scikit-learn, and nan_to_num turns its score into 0.
    if (ownSize === 1) continue;
    let a = 0;
    let b = Infinity;
    for (let c = 0; c < k; c++) {
      const sum = distanceSum(grouped, dim, i, start[c]!, start[c + 1]!);
      if (c === own) a = sum / (ownSize - 1);
      else b = Math.min(b, sum / counts[c]!);
    }
    const denominator = Math.max(a, b);
    if (denominator > 0) total += (b - a) / denominator;
  }
  return total / n;
}

// The point itself is skipped rather than measured: scikit-learn zeroes the diagonal, while
// 1 - cos(x, x) is 1 for a zero vector and can round to a few ulps for others.
function euclideanDistanceSum(
  data: Float64Array,
  dim: number,
  i: number,
  from: number,
  to: number,
): number {
  const base = i * dim;
  let sum = 0;
  for (let j = from; j < to; j++) {
    if (j === i) continue;
    const other = j * dim;
    let squared = 0;
    for (let d = 0; d < dim; d++) {
      const diff = data[base + d]! - data[other + d]!;
      squared += diff * diff;
    }
    sum += Math.sqrt(squared);
  }
  return sum;
}

function cosineDistanceSum(
  data: Float64Array,
  dim: number,
  i: number,
  from: number,
  to: number,
): number {
  const base = i * dim;
  let sum = 0;
  for (let j = from; j < to; j++) {
    if (j === i) continue;
    const other = j * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += data[base + d]! * data[other + d]!;
    // Clipped to [0, 2] as scikit-learn does: rounding can push 1 - cos slightly outside.
    sum += Math.min(2, Math.max(0, 1 - dot));
  }
  return sum;
}

// Rows scaled to unit length; a zero row stays zero, so its cosine distance to anything is 1,
// as with scikit-learn's `normalize`.
function unitRows(matrix: PointMatrix): PointMatrix {
  const { n, dim } = matrix;
  const data = Float64Array.from(matrix.data);
  for (let i = 0; i < n; i++) {
    let squared = 0;
    for (let d = 0; d < dim; d++) squared += data[i * dim + d]! ** 2;
    const norm = Math.sqrt(squared);
    if (norm === 0) continue;
    for (let d = 0; d < dim; d++) data[i * dim + d] = data[i * dim + d]! / norm;
  }
  return { data, n, dim };
}

function selectRows(matrix: PointMatrix, indices: Int32Array): PointMatrix {
  const { dim } = matrix;
  const data = new Float64Array(indices.length * dim);
  indices.forEach((row, i) => data.set(matrix.data.subarray(row * dim, (row + 1) * dim), i * dim));
  return { data, n: indices.length, dim };
}
