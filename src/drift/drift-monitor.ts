import { Adwin } from './adwin.js';
import type { DriftConfig } from './config.js';
import { driftConfigSchema } from './config.js';
import { normalisedEntropy } from './entropy.js';
import { jsDivergence } from './js-divergence.js';
import type { ChangeDetection } from './page-hinkley.js';
import { PageHinkley } from './page-hinkley.js';
import { psi } from './psi.js';

/**
 * DriftMonitor: per-batch drift statistics and detectors for the centroid store.
 *
 * The first `referenceRecords` records after the monitor starts form a fixed reference
 * window: its cluster-assignment distribution, its distances to the assigned centroid (mean,
 * standard deviation, `outlierQuantile`) and the centroids at its end. After that every batch updates a sliding current
 * window of about `windowRecords` records (whole batches) and the report compares the two:
 *
 * - embedding space: centroid displacement in this batch and since the reference; PSI and
 *   Jensen–Shannon divergence of the assignment distribution; EWMA and mean of the distance
 *   to the assigned centroid; share of records beyond the reference's outlier quantile;
 *   normalised cluster-size entropy and the number of near-empty clusters (window share below
 *   nearEmptyShare / k); Page-Hinkley and ADWIN on every record's distance, standardised by
 *   the reference mean and standard deviation.
 *
 * These are the embedding's and the store's signals, which move when the network trains as well
 * as when the data changes; drift of the data itself is measured on the raw inputs
 * (input-drift.ts), and incidents are opened from that (incidents.ts).
 *
 * Detectors raise an event when they fire; threshold statistics (the PSIs, JS) raise one when
 * they cross their alert level and re-arm once they fall below half of it, so a lasting shift
 * is one event, not one per batch. Statistics that need the reference are NaN until it is
 * complete. `rebase()` starts a new reference: after a drift incident closed, or when the model
 * moved since the reference (`referenceModelVersion`).
 *
 * Parameters: see driftConfigSchema (config.ts). State: the reference summary, the window's
 * per-batch counts and their running sums, the EWMA, the two detectors, alert arming flags.
 *
 * References: Page-Hinkley and ADWIN (see their files); PSI (psi.ts); river `drift/`;
 */
export interface CentroidSet {
  ids: Int32Array;
  data: Float32Array;
}

export interface DriftBatch {
  clusterIds: Int32Array;
  distances: Float32Array;
  centroids?: { before: CentroidSet; after: CentroidSet };
  /** The version of the network that embedded the batch (0 without one). */
  modelVersion?: number;
}

export type DriftEventKind = 'embedding-drift' | 'assignment-drift';
export type DriftDetector = 'page-hinkley' | 'adwin' | 'assignment-psi' | 'assignment-js';

export interface DriftEvent {
  kind: DriftEventKind;
  detector: DriftDetector;
  statistic: number;
  threshold: number;
  /** Record indices (0-based, counted from the monitor's first record), inclusive. */
  windowStart: number;
  windowEnd: number;
  /** Estimated first record after the change. */
  changeIndex: number;
}

export interface DriftReport {
  records: number;
  referenceReady: boolean;
  centroidShiftMean: number;
  centroidShiftMax: number;
  centroidShiftFromReference: number;
  assignmentPsi: number;
  assignmentJs: number;
  distanceMean: number;
  distanceEwma: number;
  outlierShare: number;
  clusterEntropy: number;
  nearEmptyClusters: number;
  /** The model version of the reference window's first batch (NaN before the first batch). */
  referenceModelVersion: number;
  events: DriftEvent[];
}

interface Reference {
  counts: Map<number, number>;
  distanceMean: number;
  distanceStd: number;
  outlierThreshold: number;
  centroids: CentroidSet | null;
  modelVersion: number;
}

interface WindowBatch {
  records: number;
  counts: Map<number, number>;
}

export class DriftMonitor {
  readonly config: DriftConfig;
  private records = 0;
  private reference: Reference | null = null;
  private building = {
    counts: new Map<number, number>(),
    distances: [] as number[],
    records: 0,
    modelVersion: Number.NaN,
  };
  /** Record index of the detectors' first input: the first record after the reference. */
  private detectorStart = 0;
  private lastCentroids: CentroidSet | null = null;
  private window: WindowBatch[] = [];
  private windowCounts = new Map<number, number>();
  private windowRecords = 0;
  private ewma = Number.NaN;
  private pageHinkley: PageHinkley;
  private adwin: Adwin;
  private armed = { assignmentPsi: true, assignmentJs: true };

  constructor(config: Partial<DriftConfig> = {}) {
    this.config = driftConfigSchema.parse(config);
    this.pageHinkley = new PageHinkley(this.config.pageHinkley);
    this.adwin = new Adwin(this.config.adwin);
  }

  observe(batch: DriftBatch): DriftReport {
    const n = batch.clusterIds.length;
    if (batch.distances.length !== n) {
      throw new RangeError(
        `DriftMonitor: ${n} cluster ids but ${batch.distances.length} distances`,
      );
    }
    const events: DriftEvent[] = [];
    const shift = centroidShift(batch.centroids?.before, batch.centroids?.after);
    if (batch.centroids !== undefined) this.lastCentroids = batch.centroids.after;
    const distanceMean = mean(batch.distances);
    this.updateEwma(batch.distances);
    let outlierShare = Number.NaN;
    if (this.reference === null) {
      this.build(batch);
    } else {
      outlierShare = this.outlierShare(batch.distances);
      this.runDetectors(batch.distances, events);
      this.slide(batch);
    }
    this.records += n;
    const ref = this.reference;
    const stats = ref === null ? null : this.compare(ref, events);
    return {
      records: this.records,
      referenceReady: ref !== null,
      centroidShiftMean: shift.mean,
      centroidShiftMax: shift.max,
      centroidShiftFromReference:
        ref !== null && ref.centroids !== null && this.lastCentroids !== null
          ? centroidShift(ref.centroids, this.lastCentroids).mean
          : Number.NaN,
      distanceMean,
      distanceEwma: this.ewma,
      outlierShare,
      assignmentPsi: stats?.psi ?? Number.NaN,
      assignmentJs: stats?.js ?? Number.NaN,
      clusterEntropy: stats?.entropy ?? Number.NaN,
      nearEmptyClusters: stats?.nearEmpty ?? Number.NaN,
      referenceModelVersion: ref?.modelVersion ?? this.building.modelVersion,
      events,
    };
  }

  /** Forgets the reference and the window; the next referenceRecords records form a new one. */
  rebase(): void {
    this.reference = null;
    this.building = { counts: new Map(), distances: [], records: 0, modelVersion: Number.NaN };
    this.detectorStart = 0;
    this.window = [];
    this.windowCounts = new Map();
    this.windowRecords = 0;
    this.pageHinkley = new PageHinkley(this.config.pageHinkley);
    this.adwin = new Adwin(this.config.adwin);
    this.armed = { assignmentPsi: true, assignmentJs: true };
  }

  private updateEwma(distances: Float32Array): void {
    const alpha = 1 - Math.pow(0.5, 1 / this.config.ewmaHalfLife);
    for (let i = 0; i < distances.length; i++) {
      const d = distances[i]!;
      this.ewma = Number.isNaN(this.ewma) ? d : this.ewma + alpha * (d - this.ewma);
    }
  }

  private build(batch: DriftBatch): void {
    const b = this.building;
    addCounts(b.counts, batch.clusterIds, 1);
    for (let i = 0; i < batch.distances.length; i++) b.distances.push(batch.distances[i]!);
    if (Number.isNaN(b.modelVersion)) b.modelVersion = batch.modelVersion ?? 0;
    b.records += batch.clusterIds.length;
    if (b.records < this.config.referenceRecords) return;
    const d = Float64Array.from(b.distances).sort();
    const m = mean(d);
    const variance = d.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, d.length - 1);
    const q = d[Math.min(d.length - 1, Math.floor(this.config.outlierQuantile * d.length))]!;
    this.detectorStart = this.records + batch.clusterIds.length;
    this.reference = {
      counts: b.counts,
      distanceMean: m,
      // A zero spread (every distance equal) would make every standardised value infinite.
      distanceStd: Math.sqrt(variance) || 1,
      outlierThreshold: q,
      centroids: this.lastCentroids,
      modelVersion: b.modelVersion,
    };
  }

  private outlierShare(distances: Float32Array): number {
    if (distances.length === 0) return Number.NaN;
    const t = this.reference!.outlierThreshold;
    let c = 0;
    for (let i = 0; i < distances.length; i++) if (distances[i]! > t) c++;
    return c / distances.length;
  }

  private runDetectors(distances: Float32Array, events: DriftEvent[]): void {
    const ref = this.reference!;
    const { pageHinkley: phc, adwin: adc } = this.config;
    for (let i = 0; i < distances.length; i++) {
      const z = (distances[i]! - ref.distanceMean) / ref.distanceStd;
      if (phc.enabled) {
        const hit = this.pageHinkley.update(z);
        if (hit !== null)
          events.push(detectorEvent('page-hinkley', hit, phc.threshold, this.detectorStart));
      }
      if (adc.enabled) {
        const hit = this.adwin.update(z);
        if (hit !== null && (adc.direction === 'both' || hit.direction === 'up'))
          events.push(detectorEvent('adwin', hit, adc.delta, this.detectorStart));
      }
    }
  }

  private slide(batch: DriftBatch): void {
    const counts = addCounts(new Map(), batch.clusterIds, 1);
    this.window.push({ records: batch.clusterIds.length, counts });
    mergeCounts(this.windowCounts, counts, 1);
    this.windowRecords += batch.clusterIds.length;
    while (
      this.window.length > 1 &&
      this.windowRecords - this.window[0]!.records >= this.config.windowRecords
    ) {
      const old = this.window.shift()!;
      mergeCounts(this.windowCounts, old.counts, -1);
      this.windowRecords -= old.records;
    }
  }

  private compare(ref: Reference, events: DriftEvent[]) {
    const ids = [
      ...new Set([
        ...ref.counts.keys(),
        ...this.windowCounts.keys(),
        ...(this.lastCentroids?.ids ?? []),
      ]),
    ].sort((a, b) => a - b);
    const e = ids.map((id) => ref.counts.get(id) ?? 0);
    const a = ids.map((id) => this.windowCounts.get(id) ?? 0);
    const active = this.lastCentroids === null ? ids : Array.from(this.lastCentroids.ids);
    const activeCounts = active.map((id) => this.windowCounts.get(id) ?? 0);
    const total = activeCounts.reduce((s, x) => s + x, 0);
    const nearEmptyBelow = this.config.nearEmptyShare / Math.max(1, active.length);
    const result = {
      psi: this.windowRecords > 0 ? psi(e, a, this.config.psiEpsilon) : Number.NaN,
      js: this.windowRecords > 0 ? jsDivergence(e, a) : Number.NaN,
      entropy: normalisedEntropy(activeCounts),
      nearEmpty:
        total > 0 ? activeCounts.filter((c) => c / total < nearEmptyBelow).length : Number.NaN,
    };
    this.alert('assignmentPsi', 'assignment-drift', 'assignment-psi', result.psi, events);
    this.alert('assignmentJs', 'assignment-drift', 'assignment-js', result.js, events);
    return result;
  }

  private alert(
    key: 'assignmentPsi' | 'assignmentJs',
    kind: DriftEventKind,
    detector: DriftDetector,
    value: number,
    events: DriftEvent[],
  ): void {
    const threshold = this.config.alerts[key];
    if (Number.isNaN(value)) return;
    if (this.armed[key] && value > threshold) {
      this.armed[key] = false;
      const start = this.records - this.windowRecords;
      events.push({
        kind,
        detector,
        statistic: value,
        threshold,
        windowStart: start,
        windowEnd: this.records - 1,
        changeIndex: start,
      });
    } else if (!this.armed[key] && value < threshold / 2) {
      this.armed[key] = true;
    }
  }
}

function detectorEvent(
  detector: 'page-hinkley' | 'adwin',
  hit: ChangeDetection,
  threshold: number,
  offset: number,
): DriftEvent {
  return {
    kind: 'embedding-drift',
    detector,
    statistic: hit.statistic,
    threshold,
    windowStart: offset + hit.windowStart,
    windowEnd: offset + hit.index,
    changeIndex: offset + hit.changeIndex,
  };
}

function centroidShift(before?: CentroidSet, after?: CentroidSet): { mean: number; max: number } {
  if (before === undefined || after === undefined || before.ids.length === 0)
    return { mean: Number.NaN, max: Number.NaN };
  const dim = before.data.length / before.ids.length;
  const rowOf = new Map<number, number>();
  before.ids.forEach((id, r) => rowOf.set(id, r));
  let sum = 0;
  let max = 0;
  let matched = 0;
  after.ids.forEach((id, r) => {
    const b = rowOf.get(id);
    if (b === undefined) return;
    let s = 0;
    for (let t = 0; t < dim; t++) s += (after.data[r * dim + t]! - before.data[b * dim + t]!) ** 2;
    const d = Math.sqrt(s);
    sum += d;
    max = Math.max(max, d);
    matched++;
  });
  return matched === 0 ? { mean: Number.NaN, max: Number.NaN } : { mean: sum / matched, max };
}

function addCounts(into: Map<number, number>, ids: Int32Array, sign: number): Map<number, number> {
  for (let i = 0; i < ids.length; i++) into.set(ids[i]!, (into.get(ids[i]!) ?? 0) + sign);
  return into;
}

function mergeCounts(into: Map<number, number>, from: Map<number, number>, sign: number): void {
  for (const [id, c] of from) {
    const v = (into.get(id) ?? 0) + sign * c;
    if (v === 0) into.delete(id);
    else into.set(id, v);
  }
}

function mean(x: ArrayLike<number>): number {
  if (x.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}
