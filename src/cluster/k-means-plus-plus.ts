import type { DistanceKind } from './nearest-centroid.js';
import { cosineDistanceFromDot, dot, squaredDistance } from './nearest-centroid.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; the greedy variant scikit-learn uses).
 *
 * The first seed is a uniformly drawn point. Every further seed is chosen among
 * `2 + floor(ln k)` candidates, each drawn with probability proportional to D(x) (its
 * dissimilarity to the nearest seed so far), keeping the candidate that lowers the total
 * potential Σ D(x) the most. D is the squared euclidean distance, or the cosine distance
 * 1 − cos (which is half the squared euclidean distance between the normalised vectors, so it
 * plays the same role).
 *
 * Differences from the textbook: the greedy local trials (the textbook draws one candidate);
 * when every remaining point coincides with a seed (potential 0) candidates are drawn uniformly
 * instead of failing, so k seeds always come back, duplicates included.
 *
 * Parameters: `points` (n × dim, row-major, not modified), `k` (1 ≤ k ≤ n), `kind`, `rng`
 * (consumed: the same generator state gives the same seeds).
 *
 * Returns the k seeds as a new k × dim Float64Array.
 *
 * Example: points [0,0], [0,1], [10,10], [10,11] (dim 2), k = 2, SeededRandom(1) →
 * seeds [10, 10] and [0, 0], one in each pair.
 *
 * References: D. Arthur, S. Vassilvitskii, "k-means++: the advantages of careful seeding",
 * SODA 2007; scikit-learn `sklearn/cluster/_kmeans.py`, `_kmeans_plusplus`.
 */
export function kMeansPlusPlus(
  points: Float32Array,
  dim: number,
  k: number,
  kind: DistanceKind,
  rng: SeededRandom,
): Float64Array {
  const n = (points.length / dim) | 0;
  if (k < 1 || k > n) throw new RangeError(`k-means++ needs 1 ≤ k ≤ n, got k = ${k}, n = ${n}`);
  const seeds = new Float64Array(k * dim);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = dot(points, i * dim, toF64(points, i, dim), 0, dim);
  const trials = 2 + Math.floor(Math.log(k));
  const closest = new Float64Array(n);
  const candidateBest = new Float64Array(n);
  const scratch = new Float64Array(n);
  const first = rng.nextInt(n);
  copyRow(points, first, dim, seeds, 0);
  dissimilarities(points, norms, first, dim, kind, closest);
  let potential = sum(closest);
  for (let c = 1; c < k; c++) {
    let bestPotential = Infinity;
    let bestCandidate = 0;
    for (let t = 0; t < trials; t++) {
      const cand = potential > 0 ? drawProportional(closest, potential, rng) : rng.nextInt(n);
      dissimilarities(points, norms, cand, dim, kind, scratch);
      let pot = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.min(closest[i]!, scratch[i]!);
        scratch[i] = v;
        pot += v;
      }
      if (pot < bestPotential) {
        bestPotential = pot;
        bestCandidate = cand;
        candidateBest.set(scratch);
      }
    }
    copyRow(points, bestCandidate, dim, seeds, c * dim);
    closest.set(candidateBest);
    potential = bestPotential;
  }
  return seeds;
}

function toF64(points: Float32Array, i: number, dim: number): Float64Array {
  return Float64Array.from(points.subarray(i * dim, (i + 1) * dim));
}

function copyRow(points: Float32Array, i: number, dim: number, out: Float64Array, at: number) {
  for (let t = 0; t < dim; t++) out[at + t] = points[i * dim + t]!;
}

function dissimilarities(
  points: Float32Array,
  norms: Float64Array,
  seed: number,
  dim: number,
  kind: DistanceKind,
  out: Float64Array,
): void {
  const s = toF64(points, seed, dim);
  const sn = norms[seed]!;
  for (let i = 0; i < out.length; i++) {
    out[i] =
      kind === 'euclidean'
        ? squaredDistance(points, i * dim, s, 0, dim)
        : cosineDistanceFromDot(dot(points, i * dim, s, 0, dim), norms[i]!, sn);
  }
}

function drawProportional(weights: Float64Array, total: number, rng: SeededRandom): number {
  const target = rng.next() * total;
  let acc = 0;
  let lastPositive = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w <= 0) continue;
    acc += w;
    lastPositive = i;
    if (acc > target) return i;
  }
  // Rounding can leave acc a hair below target; the last point with weight is the right answer.
  return lastPositive;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}
