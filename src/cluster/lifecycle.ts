import type { AdaptiveConfig, MergeConfig, RecoveryConfig } from './config.js';
import type { CentroidTable } from './centroid-table.js';
import type { DistanceKind } from './nearest-centroid.js';
import { vectorDistance } from './nearest-centroid.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * Cluster lifecycle rules applied after each batch is folded in: merging near-duplicate
 * centroids, opening a cluster for persistent outliers (adaptive k), and recovering dying
 * clusters by splitting the largest one or re-seeding from a far point (Spark StreamingKMeans
 * splits; scikit-learn's MiniBatchKMeans re-seeds). Every change is reported as an event;
 * ids are never reused, so an id always names one cluster's history.
 */
export type LifecycleEventKind = 'born' | 'split' | 'merged' | 'reseeded' | 'died';

export interface LifecycleEvent {
  readonly kind: LifecycleEventKind;
  readonly clusterId: number;
  /** split: the cluster that was split to make room; merged: the one that absorbed it. */
  readonly relatedId: number | null;
  readonly reason: string;
  /** Index of the batch (0-based count of applied batches) that raised it. */
  readonly batch: number;
  /** Store version after the change. */
  version: number;
}

export interface LifecycleContext {
  readonly table: CentroidTable;
  readonly kind: DistanceKind;
  readonly rng: SeededRandom;
  readonly batch: number;
  /** Candidate points far from their centroid (FARTHEST_KEPT at most), farthest first. */
  readonly farPoints: Float32Array;
  farUsed: number;
}

function nextFarPoint(ctx: LifecycleContext): Float32Array | null {
  const d = ctx.table.dim;
  if ((ctx.farUsed + 1) * d > ctx.farPoints.length) return null;
  const p = ctx.farPoints.subarray(ctx.farUsed * d, (ctx.farUsed + 1) * d);
  ctx.farUsed++;
  return p;
}

/** Merges the closest pair of centroids if they are nearer than the threshold (one per batch). */
export function mergeNearDuplicates(ctx: LifecycleContext, cfg: MergeConfig): LifecycleEvent[] {
  const t = ctx.table;
  if (!cfg.enabled || t.count < 2) return [];
  let bi = -1;
  let bj = -1;
  let best = Infinity;
  for (let i = 0; i < t.count; i++) {
    for (let j = i + 1; j < t.count; j++) {
      const dist = vectorDistance(ctx.kind, t.data, i * t.dim, t.data, j * t.dim, t.dim);
      if (dist < best) [best, bi, bj] = [dist, i, j];
    }
  }
  if (!(best < cfg.threshold)) return [];
  // The heavier cluster absorbs the lighter; on a tie the lower id (row) survives.
  const [keep, drop] = t.weights[bj]! > t.weights[bi]! ? [bj, bi] : [bi, bj];
  const wk = t.weights[keep]!;
  const wd = t.weights[drop]!;
  const total = wk + wd;
  if (total > 0) {
    for (let x = 0; x < t.dim; x++) {
      const o = x;
      t.data[keep * t.dim + o] =
        (wk * t.data[keep * t.dim + o]! + wd * t.data[drop * t.dim + o]!) / total;
    }
  }
  t.weights[keep] = total;
  const event: LifecycleEvent = {
    kind: 'merged',
    clusterId: t.ids[drop]!,
    relatedId: t.ids[keep]!,
    reason: `centroid distance ${best.toPrecision(4)} below merge threshold ${cfg.threshold}`,
    batch: ctx.batch,
    version: 0,
  };
  t.remove(drop);
  return [event];
}

/** Opens one new cluster at the farthest recent point, once the outlier streak is long enough. */
export function birthForOutliers(
  ctx: LifecycleContext,
  cfg: AdaptiveConfig,
  streak: number,
  nextId: number,
  graceBatches: number,
): LifecycleEvent[] {
  if (!cfg.enabled || streak < cfg.patienceBatches || ctx.table.count >= cfg.maxClusters) {
    return [];
  }
  const p = nextFarPoint(ctx);
  if (p === null) return [];
  ctx.table.insert(nextId, p, 0, ctx.batch + graceBatches);
  return [
    {
      kind: 'born',
      clusterId: nextId,
      relatedId: null,
      reason: `outlier share above ${cfg.minOutlierShare} for ${streak} batches`,
      batch: ctx.batch,
      version: 0,
    },
  ];
}

/** Rows whose weight fell below minWeightRatio × the largest, out of their grace period. */
function dyingRows(t: CentroidTable, cfg: RecoveryConfig, batch: number): number[] {
  let maxW = 0;
  for (let r = 0; r < t.count; r++) maxW = Math.max(maxW, t.weights[r]!);
  const rows: number[] = [];
  for (let r = 0; r < t.count; r++) {
    if (t.weights[r]! < cfg.minWeightRatio * maxW && batch >= t.graceUntil[r]!) rows.push(r);
  }
  // Lightest first; ids break ties so the order never depends on anything but the state.
  return rows.sort((a, b) => t.weights[a]! - t.weights[b]! || t.ids[a]! - t.ids[b]!);
}

/**
 * Recovers up to maxPerBatch dying clusters. With adaptive k and more clusters than the
 * configured k, a dying cluster dies instead (k shrinks back toward its floor).
 */
export function recoverDying(
  ctx: LifecycleContext,
  cfg: RecoveryConfig,
  canDie: boolean,
): LifecycleEvent[] {
  const t = ctx.table;
  if (!cfg.enabled && !canDie) return [];
  const dyingIds = dyingRows(t, cfg, ctx.batch)
    .slice(0, cfg.maxPerBatch)
    .map((r) => t.ids[r]!);
  const events: LifecycleEvent[] = [];
  for (const id of dyingIds) {
    const r = t.rowOf(id);
    const base = { clusterId: id, batch: ctx.batch, version: 0 };
    const why = `weight ${t.weights[r]!.toPrecision(4)} below ${cfg.minWeightRatio} × the largest`;
    if (canDie && t.count > 1) {
      t.remove(r);
      events.push({ ...base, kind: 'died', relatedId: null, reason: why });
      continue;
    }
    if (!cfg.enabled) continue;
    const far = cfg.strategy === 'reseed' ? nextFarPoint(ctx) : null;
    if (far !== null) {
      reseed(t, r, far, ctx.batch + cfg.graceBatches);
      events.push({ ...base, kind: 'reseeded', relatedId: null, reason: why });
      continue;
    }
    const from = split(ctx, r, cfg);
    if (from >= 0) events.push({ ...base, kind: 'split', relatedId: t.ids[from]!, reason: why });
  }
  return events;
}

function reseed(t: CentroidTable, r: number, point: Float32Array, graceUntil: number): void {
  // Weight 0: the next batch's points assigned to it replace the seed outright.
  for (let x = 0; x < t.dim; x++) t.data[r * t.dim + x] = point[x]!;
  t.weights[r] = 0;
  t.graceUntil[r] = graceUntil;
}

/**
 * Moves row r next to the largest cluster L: c_r = c_L + s·u, c_L = c_L − s·u with u a random
 * unit vector and s = perturbation × max(||c_L||, 1), and halves L's weight between them.
 * Returns L's row, or -1 when no cluster has weight to give.
 */
function split(ctx: LifecycleContext, r: number, cfg: RecoveryConfig): number {
  const t = ctx.table;
  const l = t.largestRow(r);
  if (l < 0 || !(t.weights[l]! > 0)) return -1;
  const d = t.dim;
  const u = new Float64Array(d);
  let un = 0;
  let cn = 0;
  for (let x = 0; x < d; x++) {
    u[x] = ctx.rng.gaussian();
    un += u[x]! * u[x]!;
    cn += t.data[l * d + x]! * t.data[l * d + x]!;
  }
  const s = (cfg.perturbation * Math.max(Math.sqrt(cn), 1)) / Math.sqrt(un);
  for (let x = 0; x < d; x++) {
    const c = t.data[l * d + x]!;
    t.data[r * d + x] = c + s * u[x]!;
    t.data[l * d + x] = c - s * u[x]!;
  }
  const half = t.weights[l]! / 2;
  t.weights[l] = half;
  t.weights[r] = half;
  t.graceUntil[r] = ctx.batch + cfg.graceBatches;
  t.graceUntil[l] = Math.max(t.graceUntil[l]!, ctx.batch + cfg.graceBatches);
  return l;
}
