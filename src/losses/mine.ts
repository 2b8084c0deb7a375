/**
 * In-batch triplet mining: which (anchor, positive, negative) index triples of a batch a triplet
 * loss should use, chosen from the pairwise distances and the labels that define positives.
 *
 * Strategies (d_ap = d(anchor, positive), d_an = d(anchor, negative), m = margin):
 * - `all`: every valid triplet (a ≠ p, same label; n another label).
 * - `batch-hard` (default): per anchor, its farthest positive and its nearest negative
 *   (Hermans et al. 2017). Ties go to the lowest index.
 * - `semi-hard`: per (anchor, positive), the nearest negative with d_ap < d_an < d_ap + m
 *   (FaceNet). `semiHardFallback` says what happens when none exists: `drop` the pair, or take
 *   the anchor's `farthest` negative (TF-Addons' behaviour).
 * - `hard`: every triplet with d_an < d_ap.
 * - `easy`: every triplet with d_an > d_ap + m. These have zero hinge loss; they are useful with
 *   the soft-margin loss and for statistics.
 *
 * Anchors without a positive or without a negative yield no triplet (`emptySets: 'drop'`, the
 * default). `emptySets: 'tfa-compat'` instead reproduces TensorFlow Addons'
 * `triplet_hard_loss` / `triplet_semihard_loss`, whose masked reductions return a value from the
 * whole distance row when the mask is empty: the "max over no positives" is the row minimum (the
 * anchor's zero self-distance) and the "min over no negatives" is the row maximum; the semi-hard
 * fallback's "max over no negatives" is again the row minimum. Those conventions are expressed
 * here as index choices from the row, so the loss still differentiates through the distance
 * matrix. With labels [0, 0] and embeddings [[0, 1], [1, 0]] (euclidean, margin 1) they give
 * TF-Addons' 1 + √2 (semi-hard) and 1 (batch-hard). In compat mode batch-hard keeps every anchor.
 *
 * Implementation: distances are read once (`dataSync`); for each anchor its negatives are sorted
 * by distance, so every strategy's negatives for a given positive are one contiguous range found
 * by binary search: O(n² log n) instead of scanning n³ triples. `all`, `hard` and `easy` can
 * produce O(n³) triplets; past `maxTriplets` they are sampled uniformly (with replacement, seeded)
 * from the valid ones, and `stats.candidates` still reports the full count.
 *
 * Parameters: `strategy`; `margin` (> 0, default 1; the semi-hard and easy windows and the
 * `active` count); `semiHardFallback` (default `drop`); `emptySets` (default `drop`);
 * `maxTriplets` (default 1,048,576); `seed` (default 0, for the sampling only).
 *
 * References: F. Schroff et al., "FaceNet", CVPR 2015; A. Hermans et al., "In Defense of the
 * Triplet Loss for Person Re-Identification", 2017; TensorFlow Addons `losses/triplet.py`.
 */
import type * as tf from '@tensorflow/tfjs';
import { mulberry32 } from './mulberry32.js';

export type TripletStrategy = 'all' | 'batch-hard' | 'semi-hard' | 'hard' | 'easy';
export type SemiHardFallback = 'drop' | 'farthest';
export type EmptySetPolicy = 'drop' | 'tfa-compat';

export interface MineOptions {
  strategy?: TripletStrategy;
  margin?: number;
  semiHardFallback?: SemiHardFallback;
  emptySets?: EmptySetPolicy;
  maxTriplets?: number;
  seed?: number;
}

/** What a miner found, for metrics. For pair mining, "triplets" read "pairs". */
export interface MiningStats {
  /** Valid candidates before any cap (triplets or pairs). */
  candidates: number;
  /** Triplets (or pairs) returned. */
  found: number;
  /** Returned ones with a non-zero hinge term (d_ap − d_an + margin > 0 for triplets). */
  active: number;
  /** Batch size. */
  anchors: number;
  /** Anchors that take part in no returned triplet (or pair). */
  anchorsDropped: number;
  /** anchorsDropped / anchors (0 for an empty batch). */
  droppedFraction: number;
}

export interface MinedTriplets {
  anchors: Int32Array;
  positives: Int32Array;
  negatives: Int32Array;
  stats: MiningStats;
}

export const DEFAULT_MAX_TRIPLETS = 1 << 20;

export function emptyStats(anchors = 0): MiningStats {
  return {
    candidates: 0,
    found: 0,
    active: 0,
    anchors,
    anchorsDropped: anchors,
    droppedFraction: anchors === 0 ? 0 : 1,
  };
}

/** Reads an [n, n] distance tensor (or takes the values) and checks it against the labels. */
export function distanceValues(
  distances: tf.Tensor2D | Float32Array,
  labels: ArrayLike<number>,
): Float32Array {
  const n = labels.length;
  if (distances instanceof Float32Array) {
    if (distances.length !== n * n) {
      throw new Error(`distances has ${distances.length} values; labels [${n}] needs ${n * n}`);
    }
    return distances;
  }
  if (distances.rank !== 2 || distances.shape[0] !== n || distances.shape[1] !== n) {
    throw new Error(
      `distances [${distances.shape.join(', ')}] must be [${n}, ${n}] for labels [${n}]`,
    );
  }
  return distances.dataSync() as Float32Array;
}

export function mine(
  distances: tf.Tensor2D | Float32Array,
  labels: ArrayLike<number>,
  options: MineOptions = {},
): MinedTriplets {
  const n = labels.length;
  const d = distanceValues(distances, labels);
  const strategy = options.strategy ?? 'batch-hard';
  const margin = options.margin ?? 1;
  const compat = (options.emptySets ?? 'drop') === 'tfa-compat';
  const out = new TripletBuffer();
  if (strategy === 'batch-hard') {
    mineBatchHard(d, labels, compat, out);
  } else if (strategy === 'semi-hard') {
    mineSemiHard(d, labels, margin, options.semiHardFallback ?? 'drop', compat, out);
  } else {
    mineRanges(d, labels, strategy, margin, options, out);
  }
  return out.finish(d, n, margin);
}

function mineBatchHard(
  d: Float32Array,
  labels: ArrayLike<number>,
  compat: boolean,
  out: TripletBuffer,
): void {
  const n = labels.length;
  for (let a = 0; a < n; a++) {
    // Masked entries are ±Infinity, so an empty mask is visible as a non-finite result.
    let p = -1;
    let dp = -Infinity;
    let q = -1;
    let dn = Infinity;
    for (let j = 0; j < n; j++) {
      const v = d[a * n + j] as number;
      if (labels[j] === labels[a]) {
        if (j !== a && v > dp) {
          dp = v;
          p = j;
        }
      } else if (v < dn) {
        dn = v;
        q = j;
      }
    }
    out.candidates += p >= 0 && q >= 0 ? 1 : 0;
    if (compat) {
      if (p < 0) p = rowArgMin(d, n, a);
      if (q < 0) q = rowArgMax(d, n, a);
    }
    if (p >= 0 && q >= 0) out.push(a, p, q);
  }
}

function mineSemiHard(
  d: Float32Array,
  labels: ArrayLike<number>,
  margin: number,
  fallback: SemiHardFallback,
  compat: boolean,
  out: TripletBuffer,
): void {
  const n = labels.length;
  const sorter = new NegativeSorter(d, labels);
  for (let a = 0; a < n; a++) {
    const negs = sorter.sorted(a);
    const hasNegative = negs.length > 0;
    for (let p = 0; p < n; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      const dap = d[a * n + p] as number;
      const lo = sorter.upperBound(a, negs, dap);
      const hi = sorter.lowerBound(a, negs, dap + margin);
      if (hasNegative) out.candidates += 1;
      if (lo < hi) {
        out.push(a, p, negs[lo] as number);
      } else if (fallback === 'farthest') {
        if (hasNegative) out.push(a, p, negs[negs.length - 1] as number);
        else if (compat) out.push(a, p, rowArgMin(d, n, a));
      }
    }
  }
}

function mineRanges(
  d: Float32Array,
  labels: ArrayLike<number>,
  strategy: 'all' | 'hard' | 'easy',
  margin: number,
  options: MineOptions,
  out: TripletBuffer,
): void {
  const n = labels.length;
  const sorter = new NegativeSorter(d, labels);
  // One range [lo, hi) of each anchor's sorted negatives per (anchor, positive) pair.
  const pairA: number[] = [];
  const pairP: number[] = [];
  const pairLo: number[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (let a = 0; a < n; a++) {
    const negs = sorter.sorted(a);
    if (negs.length === 0) continue;
    for (let p = 0; p < n; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      const dap = d[a * n + p] as number;
      let lo = 0;
      let hi = negs.length;
      if (strategy === 'hard') hi = sorter.lowerBound(a, negs, dap);
      if (strategy === 'easy') lo = sorter.upperBound(a, negs, dap + margin);
      if (hi <= lo) continue;
      pairA.push(a);
      pairP.push(p);
      pairLo.push(lo);
      total += hi - lo;
      cumulative.push(total);
    }
  }
  out.candidates = total;
  const cap = options.maxTriplets ?? DEFAULT_MAX_TRIPLETS;
  if (total <= cap) {
    for (let k = 0; k < pairA.length; k++) {
      const a = pairA[k] as number;
      const negs = sorter.sorted(a);
      const start = pairLo[k] as number;
      const end = start + (cumulative[k] as number) - (k === 0 ? 0 : (cumulative[k - 1] as number));
      for (let i = start; i < end; i++) out.push(a, pairP[k] as number, negs[i] as number);
    }
    return;
  }
  const random = mulberry32(options.seed ?? 0);
  for (let s = 0; s < cap; s++) {
    const r = Math.floor(random() * total);
    // First pair whose cumulative count exceeds r.
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > r) hi = mid;
      else lo = mid + 1;
    }
    const before = lo === 0 ? 0 : (cumulative[lo - 1] as number);
    const a = pairA[lo] as number;
    out.push(
      a,
      pairP[lo] as number,
      sorter.sorted(a)[(pairLo[lo] as number) + r - before] as number,
    );
  }
}

function rowArgMin(d: Float32Array, n: number, a: number): number {
  let best = a;
  for (let j = 0; j < n; j++) if ((d[a * n + j] as number) < (d[a * n + best] as number)) best = j;
  return best;
}

function rowArgMax(d: Float32Array, n: number, a: number): number {
  let best = a;
  for (let j = 0; j < n; j++) if ((d[a * n + j] as number) > (d[a * n + best] as number)) best = j;
  return best;
}

/** Each anchor's negatives sorted by distance (stable: ties keep index order), built lazily. */
class NegativeSorter {
  private readonly cache = new Map<number, Int32Array>();
  private readonly n: number;

  constructor(
    private readonly d: Float32Array,
    private readonly labels: ArrayLike<number>,
  ) {
    this.n = labels.length;
  }

  sorted(a: number): Int32Array {
    let negs = this.cache.get(a);
    if (negs === undefined) {
      const list: number[] = [];
      for (let j = 0; j < this.n; j++) if (this.labels[j] !== this.labels[a]) list.push(j);
      const row = a * this.n;
      list.sort((x, y) => (this.d[row + x] as number) - (this.d[row + y] as number) || x - y);
      negs = Int32Array.from(list);
      this.cache.set(a, negs);
    }
    return negs;
  }

  /** Number of negatives with distance < value. */
  lowerBound(a: number, negs: Int32Array, value: number): number {
    return this.bound(a, negs, (v) => v < value);
  }

  /** Number of negatives with distance ≤ value. */
  upperBound(a: number, negs: Int32Array, value: number): number {
    return this.bound(a, negs, (v) => v <= value);
  }

  private bound(a: number, negs: Int32Array, before: (v: number) => boolean): number {
    let lo = 0;
    let hi = negs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.d[a * this.n + (negs[mid] as number)] as number)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

class TripletBuffer {
  candidates = 0;
  private a: number[] = [];
  private p: number[] = [];
  private q: number[] = [];

  push(a: number, p: number, q: number): void {
    this.a.push(a);
    this.p.push(p);
    this.q.push(q);
  }

  finish(d: Float32Array, n: number, margin: number): MinedTriplets {
    const used = new Uint8Array(n);
    let active = 0;
    for (let i = 0; i < this.a.length; i++) {
      const a = this.a[i] as number;
      used[a] = 1;
      const dap = d[a * n + (this.p[i] as number)] as number;
      const dan = d[a * n + (this.q[i] as number)] as number;
      if (dap - dan + margin > 0) active += 1;
    }
    let dropped = 0;
    for (let a = 0; a < n; a++) dropped += used[a] === 1 ? 0 : 1;
    return {
      anchors: Int32Array.from(this.a),
      positives: Int32Array.from(this.p),
      negatives: Int32Array.from(this.q),
      stats: {
        candidates: this.candidates,
        found: this.a.length,
        active,
        anchors: n,
        anchorsDropped: dropped,
        droppedFraction: n === 0 ? 0 : dropped / n,
      },
    };
  }
}
