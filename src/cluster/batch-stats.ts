import { HISTOGRAM_BINS, histogramBin } from './distance-histogram.js';

/**
 * OnlineKMeansStats: the sufficient statistics of one batch against one version of the store.
 *
 * The update rule only needs, per centroid j, the weighted sum S_j and the weighted count m_j
 * of the batch's points assigned to j. Those add up: if two shards compute their statistics
 * against the same centroids (same `baseVersion`), `mergeStats(a, b)` applied to the store is
 * the same update as the union batch, up to float addition order. The other fields keep that
 * true for the rest of the update: the record count (points-based decay), the latest event time
 * (seconds-based decay), a histogram of non-outlier distances and the outlier count (adaptive k) and the few points
 * farthest from their centroid (re-seeding and births), kept in an order that does not depend
 * on arrival order.
 *
 * `mergeStats` is commutative and associative (exactly for everything but the float sums,
 * whose rounding may differ in the last bits).
 */
export interface OnlineKMeansStats {
  readonly baseVersion: number;
  readonly dim: number;
  /** Stable ids of the store's rows when the statistics were computed. */
  readonly ids: Int32Array;
  /** ids.length × dim weighted sums S_j. */
  readonly sums: Float64Array;
  /** Weighted counts m_j. */
  readonly counts: Float64Array;
  /** Number of records (unweighted). */
  readonly records: number;
  /** Batches these statistics stand for (batch-based decay); 1 when absent. */
  readonly batches?: number;
  /** Latest event time seen, or null when none was given. */
  readonly maxEventTimeMs: number | null;
  /** The adaptive-k outlier threshold in force, and the weighted count of points beyond it. */
  readonly outlierThreshold: number;
  readonly outliers: number;
  readonly histogram: Float64Array;
  /** Up to FARTHEST_KEPT points, farthest first (ties: lexicographically smaller point first). */
  readonly farthestDistances: Float64Array;
  readonly farthestPoints: Float32Array;
}

export const FARTHEST_KEPT = 8;

/** Builds the statistics of a batch whose rows were already assigned. */
export function collectStats(
  base: { version: number; ids: Int32Array; outlierThreshold: number; holdOutOutliers: boolean },
  points: Float32Array,
  dim: number,
  rows: Int32Array,
  distances: Float32Array,
  weights: Float32Array | undefined,
  eventTimeMs: number | undefined,
): OnlineKMeansStats {
  const count = base.ids.length;
  const n = rows.length;
  const sums = new Float64Array(count * dim);
  const counts = new Float64Array(count);
  const histogram = new Float64Array(HISTOGRAM_BINS);
  let outliers = 0;
  const far = new FarthestPoints(dim);
  for (let i = 0; i < n; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    const d = distances[i]!;
    const po = i * dim;
    if (w > 0) far.offer(d, points, po);
    // Outliers stay out of the histogram: counted in, a burst of them would raise the quantile
    // that defines them and hide the very cluster that adaptive k should open. While adaptive k
    // may still open a cluster they stay out of the centroids too, or the nearest cluster is
    // dragged toward the new region during the patience period and abandons its own points.
    if (d > base.outlierThreshold) {
      outliers += w;
      if (base.holdOutOutliers) continue;
    } else {
      histogram[histogramBin(d)]! += w;
    }
    const r = rows[i]!;
    counts[r] = counts[r]! + w;
    const so = r * dim;
    for (let t = 0; t < dim; t++) sums[so + t] = sums[so + t]! + w * points[po + t]!;
  }
  return {
    baseVersion: base.version,
    dim,
    ids: Int32Array.from(base.ids),
    sums,
    counts,
    records: n,
    maxEventTimeMs: eventTimeMs ?? null,
    outlierThreshold: base.outlierThreshold,
    outliers,
    histogram,
    farthestDistances: Float64Array.from(far.distances),
    farthestPoints: far.points(),
  };
}

/** Sums two shards' statistics computed against the same store version. */
export function mergeStats(a: OnlineKMeansStats, b: OnlineKMeansStats): OnlineKMeansStats {
  if (a.baseVersion !== b.baseVersion || a.dim !== b.dim || !sameIds(a.ids, b.ids)) {
    throw new Error(
      `cannot merge batch statistics computed against different stores: version ${a.baseVersion} (ids ${a.ids.join(',')}) vs version ${b.baseVersion} (ids ${b.ids.join(',')}); every shard must assign against the same centroid version`,
    );
  }
  const far = new FarthestPoints(a.dim);
  for (const s of [a, b]) {
    for (let i = 0; i < s.farthestDistances.length; i++) {
      far.offer(s.farthestDistances[i]!, s.farthestPoints, i * s.dim);
    }
  }
  return {
    baseVersion: a.baseVersion,
    dim: a.dim,
    ids: Int32Array.from(a.ids),
    sums: addArrays(a.sums, b.sums),
    counts: addArrays(a.counts, b.counts),
    records: a.records + b.records,
    maxEventTimeMs:
      a.maxEventTimeMs === null
        ? b.maxEventTimeMs
        : b.maxEventTimeMs === null
          ? a.maxEventTimeMs
          : Math.max(a.maxEventTimeMs, b.maxEventTimeMs),
    outlierThreshold: a.outlierThreshold,
    outliers: a.outliers + b.outliers,
    histogram: addArrays(a.histogram, b.histogram),
    farthestDistances: Float64Array.from(far.distances),
    farthestPoints: far.points(),
  };
}

export function isOnlineKMeansStats(x: unknown): x is OnlineKMeansStats {
  return typeof x === 'object' && x !== null && 'sums' in x && 'counts' in x && 'baseVersion' in x;
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addArrays(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/**
 * Keeps the FARTHEST_KEPT largest distances with their points, in a canonical order (the
 * batch statistics here, and a group member's delta in store-delta.ts).
 */
export class FarthestPoints {
  readonly distances: number[] = [];
  readonly rows: Float32Array[] = [];

  constructor(private readonly dim: number) {}

  offer(d: number, src: Float32Array, offset: number): void {
    const full = this.distances.length >= FARTHEST_KEPT;
    if (full && d < this.distances[FARTHEST_KEPT - 1]!) return;
    const row = src.slice(offset, offset + this.dim);
    let at = this.distances.length;
    while (at > 0 && this.before(d, row, at - 1)) at--;
    if (at >= FARTHEST_KEPT) return;
    this.distances.splice(at, 0, d);
    this.rows.splice(at, 0, row);
    if (this.distances.length > FARTHEST_KEPT) {
      this.distances.pop();
      this.rows.pop();
    }
  }

  /** Whether (d, row) sorts before entry i: larger distance first, then smaller point. */
  private before(d: number, row: Float32Array, i: number): boolean {
    const di = this.distances[i]!;
    if (d !== di) return d > di;
    const other = this.rows[i]!;
    for (let t = 0; t < this.dim; t++) {
      if (row[t] !== other[t]) return row[t]! < other[t]!;
    }
    return false;
  }

  points(): Float32Array {
    const out = new Float32Array(this.rows.length * this.dim);
    this.rows.forEach((r, i) => out.set(r, i * this.dim));
    return out;
  }
}
