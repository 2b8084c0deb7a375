import type { OnlineKMeansStats } from './batch-stats.js';
import { FarthestPoints } from './batch-stats.js';
import { HISTOGRAM_BINS } from './distance-histogram.js';
import type { EncodedArray } from './snapshot-codec.js';
import { decodeF32, decodeF64, encodeArray } from './snapshot-codec.js';

/**
 * StoreDelta: what one instance's batches added to the centroid store since it last shared
 * them, keyed by stable cluster id rather than by row (rows move when clusters are born or die
 * elsewhere). It is the sum of the batches' sufficient statistics (batch-stats.ts): per id the
 * weighted sum S_j and weight m_j, the record and batch counts (points- and batch-based decay),
 * the latest event time, the outlier weight, the distance histogram and the farthest points.
 *
 * Sums of deltas are exact (commutative and associative up to float rounding), which is what
 * lets the instances of a consumer group fold each other's records into one store: the leader
 * turns a delta back into statistics against its own store (`statsFor`) and applies them with
 * the store's own update rule, decay and lifecycle included. A delta's id that the leader's
 * store no longer holds (the cluster died or merged meanwhile) is dropped, as a batch assigned
 * to it would have been reassigned; `statsFor` says how much weight that was.
 */
export interface StoreDelta {
  dim: number;
  /** Cluster id → [weighted sum (dim values), weight]. */
  perId: Map<number, { sum: Float64Array; weight: number }>;
  records: number;
  batches: number;
  maxEventTimeMs: number | null;
  outliers: number;
  histogram: Float64Array;
  farthest: FarthestPoints;
}

export function emptyDelta(dim: number): StoreDelta {
  return {
    dim,
    perId: new Map(),
    records: 0,
    batches: 0,
    maxEventTimeMs: null,
    outliers: 0,
    histogram: new Float64Array(HISTOGRAM_BINS),
    farthest: new FarthestPoints(dim),
  };
}

/** Adds one batch's statistics (rows named by `stats.ids`) to `delta`, in place. */
export function addStats(delta: StoreDelta, stats: OnlineKMeansStats): void {
  checkDim(delta.dim, stats.dim);
  const d = stats.dim;
  for (let r = 0; r < stats.ids.length; r++) {
    const m = stats.counts[r]!;
    if (m === 0) continue;
    addToId(delta, stats.ids[r]!, stats.sums.subarray(r * d, (r + 1) * d), m);
  }
  delta.records += stats.records;
  delta.batches += 1;
  delta.maxEventTimeMs = maxOrNull(delta.maxEventTimeMs, stats.maxEventTimeMs);
  delta.outliers += stats.outliers;
  for (let b = 0; b < HISTOGRAM_BINS; b++) delta.histogram[b]! += stats.histogram[b]!;
  for (let i = 0; i < stats.farthestDistances.length; i++)
    delta.farthest.offer(stats.farthestDistances[i]!, stats.farthestPoints, i * d);
}

/** a + b as a new delta (the sum of two instances' or two rounds' contributions). */
export function mergeDeltas(a: StoreDelta, b: StoreDelta): StoreDelta {
  checkDim(a.dim, b.dim);
  const out = emptyDelta(a.dim);
  for (const x of [a, b]) {
    for (const [id, { sum, weight }] of x.perId) addToId(out, id, sum, weight);
    out.records += x.records;
    out.batches += x.batches;
    out.maxEventTimeMs = maxOrNull(out.maxEventTimeMs, x.maxEventTimeMs);
    out.outliers += x.outliers;
    for (let b = 0; b < HISTOGRAM_BINS; b++) out.histogram[b]! += x.histogram[b]!;
    x.farthest.distances.forEach((dist, i) => out.farthest.offer(dist, x.farthest.rows[i]!, 0));
  }
  return out;
}

/**
 * The delta as statistics against a store whose rows are `ids` at `version` (what
 * OnlineKMeans.applyStats checks), and the weight of ids that store no longer holds.
 */
export function statsFor(
  delta: StoreDelta,
  store: { version: number; ids: Int32Array; outlierThreshold: number },
): { stats: OnlineKMeansStats; droppedWeight: number } {
  const d = delta.dim;
  const count = store.ids.length;
  const sums = new Float64Array(count * d);
  const counts = new Float64Array(count);
  const rowOf = new Map<number, number>();
  store.ids.forEach((id, r) => rowOf.set(id, r));
  let droppedWeight = 0;
  for (const [id, { sum, weight }] of delta.perId) {
    const r = rowOf.get(id);
    if (r === undefined) {
      droppedWeight += weight;
      continue;
    }
    counts[r] = weight;
    sums.set(sum, r * d);
  }
  return {
    stats: {
      baseVersion: store.version,
      dim: d,
      ids: Int32Array.from(store.ids),
      sums,
      counts,
      records: delta.records,
      batches: delta.batches,
      maxEventTimeMs: delta.maxEventTimeMs,
      outlierThreshold: store.outlierThreshold,
      outliers: delta.outliers,
      histogram: Float64Array.from(delta.histogram),
      farthestDistances: Float64Array.from(delta.farthest.distances),
      farthestPoints: delta.farthest.points(),
    },
    droppedWeight,
  };
}

/** The delta's JSON form (arrays as base64 of little-endian float64, as in store snapshots). */
export interface StoreDeltaJson {
  dim: number;
  ids: number[];
  sums: EncodedArray;
  weights: number[];
  records: number;
  batches: number;
  maxEventTimeMs: number | null;
  outliers: number;
  histogram: EncodedArray;
  farthestDistances: number[];
  farthestPoints: EncodedArray;
}

export function deltaToJson(delta: StoreDelta): StoreDeltaJson {
  const ids = [...delta.perId.keys()].sort((a, b) => a - b);
  const sums = new Float64Array(ids.length * delta.dim);
  ids.forEach((id, i) => sums.set(delta.perId.get(id)!.sum, i * delta.dim));
  return {
    dim: delta.dim,
    ids,
    sums: encodeArray(sums),
    weights: ids.map((id) => delta.perId.get(id)!.weight),
    records: delta.records,
    batches: delta.batches,
    maxEventTimeMs: delta.maxEventTimeMs,
    outliers: delta.outliers,
    histogram: encodeArray(delta.histogram),
    farthestDistances: [...delta.farthest.distances],
    farthestPoints: encodeArray(delta.farthest.points()),
  };
}

export function deltaFromJson(json: StoreDeltaJson): StoreDelta {
  const d = json.dim;
  const sums = decodeF64(json.sums, 'delta.sums');
  if (sums.length !== json.ids.length * d || json.weights.length !== json.ids.length) {
    throw new Error(
      `a shared store delta is inconsistent: ${json.ids.length} ids, ${json.weights.length} weights, ${sums.length} sums for dim ${d}`,
    );
  }
  const delta = emptyDelta(d);
  json.ids.forEach((id, i) =>
    delta.perId.set(id, { sum: sums.slice(i * d, (i + 1) * d), weight: json.weights[i]! }),
  );
  delta.records = json.records;
  delta.batches = json.batches;
  delta.maxEventTimeMs = json.maxEventTimeMs;
  delta.outliers = json.outliers;
  delta.histogram = decodeF64(json.histogram, 'delta.histogram');
  const far = decodeF32(json.farthestPoints, 'delta.farthestPoints');
  json.farthestDistances.forEach((dist, i) => delta.farthest.offer(dist, far, i * d));
  return delta;
}

function addToId(delta: StoreDelta, id: number, sum: Float64Array, weight: number): void {
  const entry = delta.perId.get(id);
  if (entry === undefined) {
    delta.perId.set(id, { sum: Float64Array.from(sum), weight });
    return;
  }
  for (let t = 0; t < sum.length; t++) entry.sum[t]! += sum[t]!;
  entry.weight += weight;
}

function maxOrNull(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function checkDim(a: number, b: number): void {
  if (a !== b)
    throw new RangeError(`cannot add statistics of dimension ${b} to a delta of dimension ${a}`);
}
