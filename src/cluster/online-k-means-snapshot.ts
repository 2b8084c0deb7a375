import { CentroidTable } from './centroid-table.js';
import { HISTOGRAM_BINS } from './distance-histogram.js';
import type { LifecycleEvent } from './lifecycle.js';
import type { ResolvedOnlineKMeansOptions } from './online-k-means-options.js';
import type { EncodedArray } from './snapshot-codec.js';
import {
  canonicalJson,
  decodeF32,
  decodeF64,
  decodeI32,
  encodeArray,
  sha256Hex,
} from './snapshot-codec.js';
import { SeededRandom } from './seeded-random.js';
import { WarmupReservoir } from './warmup-reservoir.js';

/*
 * Snapshot format of the centroid store. A snapshot is plain JSON: it names its format and
 * version, describes its own fields, carries every option the store was built with and its
 * whole state (centroids at float64, generator position, warm-up reservoir, counters), and a
 * SHA-256 of the canonical JSON (sorted keys) of everything but the checksum. Restoring checks
 * the format, the version and the checksum before reading a single number, so a truncated or
 * hand-edited snapshot fails loudly instead of clustering with wrong centroids.
 *
 * Compatibility: a reader accepts exactly SNAPSHOT_FORMAT_VERSION; a change to the meaning of
 * a field bumps it (and would add a migration here).
 */
export const SNAPSHOT_FORMAT = 'streamclust/online-k-means';
export const SNAPSHOT_FORMAT_VERSION = 1;

const DESCRIPTION =
  'OnlineKMeans centroid store. state.centroids: count × options.dim float64 row-major, rows ' +
  'sorted by state.ids; state.weights: per-row weight; arrays are base64 of little-endian ' +
  'bytes (encoding named per array); checksum: sha256 of the canonical JSON (sorted keys) of ' +
  '{format, formatVersion, description, options, state}.';

export interface StoreState {
  table: CentroidTable;
  rng: SeededRandom;
  reservoir: WarmupReservoir | null;
  seen: number;
  version: number;
  batches: number;
  records: number;
  lastEventTimeMs: number | null;
  nextId: number;
  histogram: Float64Array;
  outlierStreak: number;
  pendingEvents: LifecycleEvent[];
}

export interface OnlineKMeansSnapshotState {
  count: number;
  ids: EncodedArray;
  centroids: EncodedArray;
  weights: EncodedArray;
  graceUntil: EncodedArray;
  rng: { s: number; spare: number | null };
  reservoir: { seen: number; capacity: number; data: EncodedArray } | null;
  seen: number;
  version: number;
  batches: number;
  records: number;
  lastEventTimeMs: number | null;
  nextId: number;
  histogram: EncodedArray;
  outlierStreak: number;
  pendingEvents: LifecycleEvent[];
}

export interface OnlineKMeansSnapshot {
  format: string;
  formatVersion: number;
  description: string;
  options: ResolvedOnlineKMeansOptions;
  state: OnlineKMeansSnapshotState;
  checksum: { algorithm: 'sha256'; value: string };
}

export function writeSnapshot(
  options: ResolvedOnlineKMeansOptions,
  s: StoreState,
): OnlineKMeansSnapshot {
  const t = s.table;
  const state: OnlineKMeansSnapshotState = {
    count: t.count,
    ids: encodeArray(t.ids.slice(0, t.count)),
    centroids: encodeArray(t.data.slice(0, t.count * t.dim)),
    weights: encodeArray(t.weights.slice(0, t.count)),
    graceUntil: encodeArray(t.graceUntil.slice(0, t.count)),
    rng: s.rng.state,
    reservoir:
      s.reservoir === null
        ? null
        : {
            seen: s.reservoir.seen,
            capacity: s.reservoir.capacity,
            data: encodeArray(s.reservoir.data),
          },
    seen: s.seen,
    version: s.version,
    batches: s.batches,
    records: s.records,
    lastEventTimeMs: s.lastEventTimeMs,
    nextId: s.nextId,
    histogram: encodeArray(s.histogram),
    outlierStreak: s.outlierStreak,
    pendingEvents: s.pendingEvents.map((e) => ({ ...e })),
  };
  // A JSON round trip drops nothing here (no undefined, no typed arrays), so the checksum
  // computed on this object equals the one a reader computes on the parsed text.
  const body = {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    description: DESCRIPTION,
    options: JSON.parse(JSON.stringify(options)) as ResolvedOnlineKMeansOptions,
    state,
  };
  return { ...body, checksum: { algorithm: 'sha256', value: sha256Hex(canonicalJson(body)) } };
}

export function readSnapshot(snap: OnlineKMeansSnapshot): {
  options: ResolvedOnlineKMeansOptions;
  state: StoreState;
} {
  verifyEnvelope(snap);
  const o = snap.options;
  const st = snap.state;
  const table = new CentroidTable(o.dim, Math.max(st.count, 1));
  const ids = decodeI32(st.ids, 'state.ids');
  const centroids = decodeF64(st.centroids, 'state.centroids');
  const weights = decodeF64(st.weights, 'state.weights');
  const grace = decodeF64(st.graceUntil, 'state.graceUntil');
  if (ids.length !== st.count || centroids.length !== st.count * o.dim) {
    throw new Error(
      `snapshot state is inconsistent: count ${st.count}, ${ids.length} ids, ${centroids.length} centroid values for dim ${o.dim}`,
    );
  }
  for (let r = 0; r < st.count; r++) {
    table.insert(ids[r]!, centroids.subarray(r * o.dim, (r + 1) * o.dim), weights[r]!, grace[r]!);
  }
  let reservoir: WarmupReservoir | null = null;
  if (st.reservoir !== null) {
    reservoir = new WarmupReservoir(st.reservoir.capacity, o.dim, o.warmupSize);
    reservoir.data.set(decodeF32(st.reservoir.data, 'state.reservoir.data'));
    reservoir.seen = st.reservoir.seen;
  }
  const histogram = decodeF64(st.histogram, 'state.histogram');
  if (histogram.length !== HISTOGRAM_BINS) {
    throw new Error(
      `snapshot histogram has ${histogram.length} bins, this reader uses ${HISTOGRAM_BINS}`,
    );
  }
  const state: StoreState = {
    table,
    rng: SeededRandom.fromState(st.rng),
    reservoir,
    seen: st.seen,
    version: st.version,
    batches: st.batches,
    records: st.records,
    lastEventTimeMs: st.lastEventTimeMs,
    nextId: st.nextId,
    histogram,
    outlierStreak: st.outlierStreak,
    pendingEvents: st.pendingEvents.map((e) => ({ ...e })),
  };
  return { options: o, state };
}

function verifyEnvelope(snap: OnlineKMeansSnapshot): void {
  if (snap === null || typeof snap !== 'object') {
    throw new TypeError('OnlineKMeans.restore: the snapshot must be an object (parsed JSON)');
  }
  if (snap.format !== SNAPSHOT_FORMAT) {
    throw new Error(
      `OnlineKMeans.restore: not an OnlineKMeans snapshot (format ${JSON.stringify(snap.format)}, expected ${JSON.stringify(SNAPSHOT_FORMAT)})`,
    );
  }
  if (snap.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new Error(
      `OnlineKMeans.restore: snapshot format version ${snap.formatVersion} is not supported (this build reads version ${SNAPSHOT_FORMAT_VERSION}); restore it with the release that wrote it`,
    );
  }
  const { checksum, ...body } = snap;
  const actual = sha256Hex(canonicalJson(body));
  if (checksum?.algorithm !== 'sha256' || checksum.value !== actual) {
    throw new Error(
      `OnlineKMeans.restore: checksum mismatch (stored ${String(checksum?.value)}, computed ${actual}); the snapshot is corrupt or was edited`,
    );
  }
}
