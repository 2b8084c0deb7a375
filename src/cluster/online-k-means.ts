import type { OnlineKMeansStats } from './batch-stats.js';
import { collectStats, isOnlineKMeansStats, mergeStats } from './batch-stats.js';
import { CentroidTable } from './centroid-table.js';
import { decayFactor } from './decay.js';
import { HISTOGRAM_BINS, histogramQuantile } from './distance-histogram.js';
import { warmStart } from './warm-start.js';
import type {
  Assignment,
  OnlineKMeansOptions,
  ResolvedOnlineKMeansOptions,
  UpdateOptions,
} from './online-k-means-options.js';
import { checkWeights, resolveOptions } from './online-k-means-options.js';
import type { LifecycleContext, LifecycleEvent } from './lifecycle.js';
import { birthForOutliers, mergeNearDuplicates, recoverDying } from './lifecycle.js';
import { assignNearest } from './nearest-centroid.js';
import type { OnlineKMeansSnapshot, StoreState } from './online-k-means-snapshot.js';
import { readSnapshot, writeSnapshot } from './online-k-means-snapshot.js';
import { SeededRandom } from './seeded-random.js';
import { WarmupReservoir } from './warmup-reservoir.js';

/**
 * OnlineKMeans: the streaming centroid store. Nearest-centroid assignment plus the weighted
 * online k-means update of Spark StreamingKMeans, per batch and per centroid j:
 *
 *     c_j ← (a·w_j·c_j + S_j) / (a·w_j + m_j),    w_j ← a·w_j + m_j
 *
 * with S_j and m_j the (optionally weighted) sum and count of the batch's points assigned to j
 * and `a` the forgetting factor from a half-life (see decay.ts). With a = 1 and initial weights
 * 0 this is exactly scikit-learn's MiniBatchKMeans update (`_mini_batch_step`, no reassignment).
 *
 * Differences from the textbook online k-means: seeding is greedy k-means++ on a reservoir of
 * the first `warmupSize` records, and nothing is assigned before; cluster ids are stable
 * integers, never reused; dying clusters (weight < minWeightRatio × the largest) are recovered by
 * splitting the largest cluster or re-seeding from a far point; near-duplicates may merge and,
 * with adaptive k, persistent outliers (distance above the `quantile` of a decayed histogram of
 * recent distances) open new clusters; while k can still grow, such outliers are held out of
 * the update so they do not drag an existing centroid toward the region that needs its own. The update's inputs are sufficient
 * statistics (`batchStats`), which merge exactly across shards.
 *
 * Parameters (defaults and validation come from `clusterConfigSchema`, config.ts):
 * - k: clusters at start (1–65,536; a few to a few hundred in practice);
 * - dim: embedding dimension (≥ 1);
 * - seed: seeds the generator behind k-means++, reservoir sampling and split perturbations;
 * - warmupSize (≥ k, 10·k or more) and reservoirSize (≥ k): records seen before seeding, and
 *   how many of them are kept for it;
 * - distance: 'euclidean' (reported as ||x − c||) or 'cosine' (1 − cos, in [0, 2]);
 * - decay {unit: none|batches|points|seconds, halfLife > 0};
 * - recovery {enabled, strategy: split|reseed, minWeightRatio in (0, 1) (0.001–0.05),
 *   perturbation (1e-4–1e-2, relative to the centroid's norm), graceBatches, maxPerBatch};
 * - merge {enabled, threshold: centroid distance below which two clusters merge};
 * - adaptive {enabled, maxClusters ≥ k, quantile (0.95–0.999), minOutlierShare, patienceBatches};
 * - initialCentroids / initialWeights: skip the warm-up and start from given k × dim centroids
 *   (weights default to 0, as in scikit-learn's partial_fit).
 *
 * State: the centroid table (ids, centroids, weights), the generator, the warm-up reservoir
 * until ready, counts of batches and records, the last event time, the next free id, a decayed
 * histogram of distances and the outlier streak (adaptive k), events not yet reported.
 *
 * Example (this exact run is a unit test, online-k-means-example.test.ts):
 *
 *     const store = new OnlineKMeans({
 *       k: 2, dim: 2, seed: 7, warmupSize: 4, decay: { unit: 'none' },
 *       init: { restarts: 1, iterations: 0 },  // plain k-means++ seeds (see warm-start.ts)
 *     });
 *     store.observe(new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]));  // → true
 *     const { clusterIds, distances } = store.update(new Float32Array([0, 0.5, 10, 10.5]));
 *     // clusterIds → [0, 1], distances → [0.5, 0.5] (seeds [0, 0] and [10, 10], weight 2 each)
 *     store.centroids();  // → ids [0, 1], data [0, 1/6, 10, 10 + 1/6], weights [3, 3]
 *
 * References: Spark MLlib `StreamingKMeansModel.update`; D. Sculley, "Web-scale k-means
 * clustering", WWW 2010; scikit-learn `MiniBatchKMeans`; river `cluster/k_means.py`.
 */
export type { LifecycleEvent, OnlineKMeansStats, OnlineKMeansSnapshot };
export type { Assignment, OnlineKMeansOptions, ResolvedOnlineKMeansOptions, UpdateOptions };

/**
 * Adaptive k trusts its q-quantile once the histogram holds this many tail-widths (1 − q) of
 * mass: two records expected beyond the quantile. More would keep a short half-life (whose
 * decayed histogram never holds much) from ever opening a cluster.
 */
const TAIL_RECORDS_FOR_QUANTILE = 2;

export class OnlineKMeans {
  readonly k: number;
  readonly dim: number;
  readonly options: ResolvedOnlineKMeansOptions;
  /**
   * Set on the instances of a consumer group that follow the group's leader (sync.enabled):
   * the lifecycle (births, splits, merges, re-seeding, deaths) is decided by the leader alone,
   * so a cluster id means the same cluster everywhere; this store only folds statistics.
   */
  followsLeader = false;
  /** Called with every batch's statistics before they are folded in (the group's delta). */
  statsListener: ((stats: OnlineKMeansStats) => void) | undefined;
  private s: StoreState;

  constructor(options: OnlineKMeansOptions) {
    this.options = resolveOptions(options);
    this.k = this.options.k;
    this.dim = this.options.dim;
    const o = this.options;
    this.s = {
      table: new CentroidTable(o.dim, o.adaptive.enabled ? o.adaptive.maxClusters : o.k),
      rng: new SeededRandom(o.seed),
      reservoir: new WarmupReservoir(Math.min(o.reservoirSize, o.warmupSize), o.dim, o.warmupSize),
      seen: 0,
      version: 0,
      batches: 0,
      records: 0,
      lastEventTimeMs: null,
      nextId: 0,
      histogram: new Float64Array(HISTOGRAM_BINS),
      outlierStreak: 0,
      pendingEvents: [],
    };
    if (options.initialCentroids !== undefined) {
      this.start(Float64Array.from(options.initialCentroids), options.initialWeights);
    }
  }

  get ready(): boolean {
    return this.s.reservoir === null;
  }

  get version(): number {
    return this.s.version;
  }

  /** Number of clusters now (k unless clusters merged, died or were born). */
  get clusterCount(): number {
    return this.s.table.count;
  }

  warmupProgress(): { seen: number; needed: number } {
    return {
      seen: Math.min(this.s.seen, this.options.warmupSize),
      needed: this.options.warmupSize,
    };
  }

  observe(points: Float32Array): boolean {
    if (this.ready) return true;
    this.checkPoints(points);
    const reservoir = this.s.reservoir!;
    reservoir.offer(points, this.s.rng);
    this.s.seen = reservoir.seen;
    if (!reservoir.full) return false;
    const sample = reservoir.sample();
    const seeds = warmStart(
      sample,
      this.dim,
      this.k,
      this.options.distance,
      this.s.rng,
      this.options.init,
    );
    this.start(seeds, undefined, sample);
    return true;
  }

  /**
   * Starts the store now from the warm-up sample gathered so far, before `warmupSize` records
   * were seen: the pipeline calls it when the stream stalls or ends during warm-up (every
   * in-flight record waiting for the store). Returns false, changing nothing, while the sample
   * holds fewer than k points.
   */
  initializeNow(): boolean {
    if (this.ready) return true;
    const sample = this.s.reservoir!.sample();
    if (sample.length / this.dim < this.k) return false;
    const seeds = warmStart(
      sample,
      this.dim,
      this.k,
      this.options.distance,
      this.s.rng,
      this.options.init,
    );
    this.start(seeds, undefined, sample);
    return true;
  }

  assign(points: Float32Array): Assignment {
    const rows = this.assignRows(points);
    return { clusterIds: this.rowsToIds(rows.rows), distances: rows.distances };
  }

  update(
    points: Float32Array,
    options: UpdateOptions = {},
  ): Assignment & { events: LifecycleEvent[] } {
    const { stats, rows, distances } = this.assignAndCollect(points, options);
    const clusterIds = this.rowsToIds(rows);
    const events = this.applyStats(stats);
    return { clusterIds, distances, events };
  }

  /**
   * Moves every centroid to the mean of the given points nearest to it: one Lloyd step from the
   * current centroids, `iterations` times. This is how the store follows the embedding network
   * when its weights move (the points are a replay sample embedded with the new weights, as in
   * online deep clustering): ids, weights, the lifecycle state and the decay are kept, so the
   * next assignments and pseudo-labels are computed against centroids in the network's current
   * space. A centroid that no point is nearest to stays where it is. Returns how many centroids
   * moved and their mean displacement (in the store's distance).
   */
  realign(points: Float32Array, iterations = 1): { moved: number; meanShift: number } {
    this.requireReady('realign');
    this.checkPoints(points);
    const t = this.s.table;
    const dim = this.dim;
    const before = Float64Array.from(t.data.subarray(0, t.count * dim));
    for (let it = 0; it < iterations; it++) {
      const { rows } = this.assignRows(points);
      const sums = new Float64Array(t.count * dim);
      const counts = new Float64Array(t.count);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        counts[r]! += 1;
        for (let d = 0; d < dim; d++) sums[r * dim + d]! += points[i * dim + d]!;
      }
      for (let r = 0; r < t.count; r++) {
        if (counts[r]! === 0) continue;
        for (let d = 0; d < dim; d++) t.data[r * dim + d] = sums[r * dim + d]! / counts[r]!;
      }
      t.refreshNorms();
    }
    let moved = 0;
    let shift = 0;
    for (let r = 0; r < t.count; r++) {
      let d2 = 0;
      for (let d = 0; d < dim; d++) d2 += (t.data[r * dim + d]! - before[r * dim + d]!) ** 2;
      if (d2 > 0) moved += 1;
      shift += Math.sqrt(d2);
    }
    if (moved > 0) this.s.version += 1;
    return { moved, meanShift: t.count === 0 ? 0 : shift / t.count };
  }

  /** Drops the lifecycle events not reported yet (a state adopted from another process). */
  clearPendingEvents(): void {
    this.s.pendingEvents.length = 0;
  }

  /** What statistics against the store as it is now must name (store-delta.ts `statsFor`). */
  statsBase(): { version: number; ids: Int32Array; outlierThreshold: number } {
    this.requireReady('statsBase');
    return {
      version: this.s.version,
      ids: this.s.table.activeIds(),
      outlierThreshold: this.outlierThreshold(),
    };
  }

  /** The batch's sufficient statistics against the current centroids; does not mutate the store. */
  batchStats(points: Float32Array, options: UpdateOptions = {}): OnlineKMeansStats {
    return this.assignAndCollect(points, options).stats;
  }

  private assignAndCollect(
    points: Float32Array,
    options: UpdateOptions,
  ): { stats: OnlineKMeansStats; rows: Int32Array; distances: Float32Array } {
    const { rows, distances } = this.assignRows(points);
    const n = rows.length;
    if (options.weights !== undefined) checkWeights(options.weights, n);
    const stats = collectStats(
      {
        version: this.s.version,
        ids: this.s.table.activeIds(),
        outlierThreshold: this.outlierThreshold(),
        holdOutOutliers:
          this.options.adaptive.enabled && this.s.table.count < this.options.adaptive.maxClusters,
      },
      points,
      this.dim,
      rows,
      distances,
      options.weights,
      options.eventTimeMs,
    );
    return { stats, rows, distances };
  }

  /** Folds a batch's statistics (one shard's, or several merged) into the store. */
  applyStats(stats: OnlineKMeansStats): LifecycleEvent[] {
    this.requireReady('applyStats');
    this.checkStatsBase(stats);
    if (this.options.decay.unit === 'seconds' && stats.maxEventTimeMs === null) {
      throw new Error(
        "cluster.decay.unit is 'seconds' but the batch has no eventTimeMs: pass update(points, { eventTimeMs }) or choose another decay unit",
      );
    }
    const s = this.s;
    const elapsed =
      stats.maxEventTimeMs !== null && s.lastEventTimeMs !== null
        ? (stats.maxEventTimeMs - s.lastEventTimeMs) / 1000
        : 0;
    const once = decayFactor(this.options.decay, stats.records, elapsed);
    // A group member's delta stands for several batches: batch-based decay applies per batch.
    const a = this.options.decay.unit === 'batches' ? once ** (stats.batches ?? 1) : once;
    this.statsListener?.(stats);
    this.fold(stats, a);
    if (stats.maxEventTimeMs !== null) {
      s.lastEventTimeMs = Math.max(s.lastEventTimeMs ?? -Infinity, stats.maxEventTimeMs);
    }
    const totalWeight = stats.counts.reduce((x, y) => x + y, 0);
    s.outlierStreak =
      totalWeight > 0 && stats.outliers / totalWeight > this.options.adaptive.minOutlierShare
        ? s.outlierStreak + 1
        : 0;
    const changes = this.followsLeader ? [] : this.applyLifecycle(stats);
    s.batches++;
    s.records += stats.records;
    if (stats.records > 0 || changes.length > 0) s.version++;
    for (const e of changes) e.version = s.version;
    s.table.refreshNorms();
    return [...s.pendingEvents.splice(0), ...changes];
  }

  centroids(): { ids: Int32Array; data: Float32Array; weights: Float64Array } {
    const t = this.s.table;
    return {
      ids: t.activeIds(),
      data: Float32Array.from(t.data.subarray(0, t.count * this.dim)),
      weights: t.weights.slice(0, t.count),
    };
  }

  /** Centroids at full (float64) precision, in stable-id order. A copy. */
  centroids64(): { ids: Int32Array; data: Float64Array; weights: Float64Array } {
    const t = this.s.table;
    return {
      ids: t.activeIds(),
      data: t.data.slice(0, t.count * this.dim),
      weights: t.weights.slice(0, t.count),
    };
  }

  snapshot(): OnlineKMeansSnapshot {
    return writeSnapshot(this.options, this.s);
  }

  static restore(snapshot: OnlineKMeansSnapshot): OnlineKMeans {
    const { options, state } = readSnapshot(snapshot);
    const store = new OnlineKMeans(options);
    store.s = state;
    return store;
  }

  /**
   * Merges another store's model, or applies a batch's statistics.
   *
   * Statistics: same as applyStats (their lifecycle events are reported by the next update).
   * Store: per stable id, the weighted sums (w·c, w) add: c = (w₁c₁ + w₂c₂)/(w₁ + w₂),
   * w = w₁ + w₂; ids only the other store knows are adopted. This is commutative and
   * associative (to float rounding) as long as every merged weight is positive.
   */
  merge(other: OnlineKMeans | OnlineKMeansStats): void {
    if (isOnlineKMeansStats(other)) {
      this.s.pendingEvents.push(...this.applyStats(other));
      return;
    }
    this.requireReady('merge');
    if (!other.ready) throw new Error('cannot merge a store that is still warming up');
    if (other.dim !== this.dim || other.options.distance !== this.options.distance) {
      throw new Error(
        `cannot merge stores with different geometry: dim ${this.dim}/${other.dim}, distance ${this.options.distance}/${other.options.distance}`,
      );
    }
    const mine = this.s.table;
    const theirs = other.s.table;
    for (let r = 0; r < theirs.count; r++) {
      const id = theirs.ids[r]!;
      const w2 = theirs.weights[r]!;
      const mr = mine.rowOf(id);
      if (mr < 0) {
        mine.insert(id, theirs.row(r), w2, theirs.graceUntil[r]!);
        continue;
      }
      const w1 = mine.weights[mr]!;
      const w = w1 + w2;
      if (w > 0) {
        const c1 = mine.row(mr);
        const c2 = theirs.row(r);
        for (let x = 0; x < this.dim; x++) c1[x] = (w1 * c1[x]! + w2 * c2[x]!) / w;
      }
      mine.weights[mr] = w;
    }
    for (let b = 0; b < HISTOGRAM_BINS; b++) this.s.histogram[b]! += other.s.histogram[b]!;
    this.s.nextId = Math.max(this.s.nextId, other.s.nextId);
    this.s.version++;
    mine.refreshNorms();
  }

  /** Sums two shards' batch statistics (see batch-stats.ts). */
  static mergeStats(a: OnlineKMeansStats, b: OnlineKMeansStats): OnlineKMeansStats {
    return mergeStats(a, b);
  }

  private start(seeds: Float64Array, weights?: Float64Array, sample?: Float32Array): void {
    const { k, dim } = this;
    if (seeds.length !== k * dim) {
      throw new RangeError(
        `initialCentroids has ${seeds.length} values, expected k × dim = ${k * dim}`,
      );
    }
    if (weights !== undefined && weights.length !== k) {
      throw new RangeError(`initialWeights has ${weights.length} values, expected k = ${k}`);
    }
    const t = this.s.table;
    const grace = this.options.recovery.graceBatches;
    for (let j = 0; j < k; j++)
      t.insert(j, seeds.subarray(j * dim, (j + 1) * dim), weights?.[j] ?? 0, grace);
    if (sample !== undefined) {
      // Seeds start with the weight of the reservoir points nearest to them, so the first
      // batches refine the k-means++ seeds instead of replacing them outright.
      const n = sample.length / dim;
      const rows = new Int32Array(n);
      assignNearest(
        sample,
        dim,
        t.data,
        t.norms2,
        t.count,
        this.options.distance,
        rows,
        new Float32Array(n),
      );
      for (let i = 0; i < n; i++) t.weights[rows[i]!]! += 1;
    }
    this.s.nextId = k;
    this.s.reservoir = null;
    this.s.seen = Math.max(this.s.seen, this.options.warmupSize);
    this.s.version = 1;
    for (let j = 0; j < k; j++) {
      this.s.pendingEvents.push({
        kind: 'born',
        clusterId: j,
        relatedId: null,
        reason: 'k-means++ initialisation',
        batch: 0,
        version: 1,
      });
    }
  }

  private fold(stats: OnlineKMeansStats, a: number): void {
    const t = this.s.table;
    const d = this.dim;
    for (let r = 0; r < t.count; r++) {
      const aw = a * t.weights[r]!;
      const m = stats.counts[r]!;
      const total = aw + m;
      if (m > 0 && total > 0) {
        for (let x = 0; x < d; x++) {
          t.data[r * d + x] = (aw * t.data[r * d + x]! + stats.sums[r * d + x]!) / total;
        }
      }
      t.weights[r] = total;
    }
    const h = this.s.histogram;
    for (let b = 0; b < HISTOGRAM_BINS; b++) h[b] = a * h[b]! + stats.histogram[b]!;
  }

  private applyLifecycle(stats: OnlineKMeansStats): LifecycleEvent[] {
    const o = this.options;
    const ctx: LifecycleContext = {
      table: this.s.table,
      kind: o.distance,
      rng: this.s.rng,
      batch: this.s.batches,
      farPoints: stats.farthestPoints,
      farUsed: 0,
    };
    const events = mergeNearDuplicates(ctx, o.merge);
    const born = birthForOutliers(
      ctx,
      o.adaptive,
      this.s.outlierStreak,
      this.s.nextId,
      o.recovery.graceBatches,
    );
    if (born.length > 0) {
      this.s.nextId++;
      this.s.outlierStreak = 0;
    }
    events.push(...born);
    const canDie = o.adaptive.enabled && this.s.table.count > o.k;
    events.push(...recoverDying(ctx, o.recovery, canDie));
    return events;
  }

  private outlierThreshold(): number {
    const a = this.options.adaptive;
    return a.enabled
      ? histogramQuantile(
          this.s.histogram,
          a.quantile,
          TAIL_RECORDS_FOR_QUANTILE / (1 - a.quantile),
        )
      : Infinity;
  }

  private assignRows(points: Float32Array): { rows: Int32Array; distances: Float32Array } {
    this.requireReady('assign');
    this.checkPoints(points);
    const n = points.length / this.dim;
    const rows = new Int32Array(n);
    const distances = new Float32Array(n);
    const t = this.s.table;
    assignNearest(
      points,
      this.dim,
      t.data,
      t.norms2,
      t.count,
      this.options.distance,
      rows,
      distances,
    );
    return { rows, distances };
  }

  private rowsToIds(rows: Int32Array): Int32Array {
    const ids = this.s.table.ids;
    const out = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = ids[rows[i]!]!;
    return out;
  }

  private checkPoints(points: Float32Array): void {
    if (!(points instanceof Float32Array))
      throw new TypeError('points must be a Float32Array (n × dim, row-major)');
    if (points.length % this.dim !== 0) {
      throw new RangeError(
        `points has ${points.length} values, not a multiple of dim = ${this.dim}`,
      );
    }
  }

  private checkStatsBase(stats: OnlineKMeansStats): void {
    const ids = this.s.table.activeIds();
    const same = stats.ids.length === ids.length && stats.ids.every((id, i) => id === ids[i]);
    if (stats.baseVersion !== this.s.version || stats.dim !== this.dim || !same) {
      throw new Error(
        `batch statistics were computed against store version ${stats.baseVersion}, the store is at version ${this.s.version}: recompute them with batchStats() on the current store`,
      );
    }
  }

  private requireReady(what: string): void {
    if (!this.ready) {
      const p = this.warmupProgress();
      throw new Error(
        `OnlineKMeans.${what}() called before the store is ready: warm-up has seen ${p.seen} of ${p.needed} records; feed observe() until it returns true`,
      );
    }
  }
}
