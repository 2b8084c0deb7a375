/**
 * The evaluator's pipeline observer. The pipeline assigns each batch with the store as it was
 * before the batch updated it (test-then-train), so the assignments it reports are prequential:
 * every record is scored by a model that had not yet learnt from it. The collector cuts the
 * stream into windows of `windowRecords` (never straddling two passes) and into passes, and
 * computes every metric of each; the curves of the report are the window series.
 *
 * Memory stays bounded by the window and sample sizes except for the label and cluster arrays of
 * the current pass (8 bytes a record), which the per-pass external metrics need in full.
 */
import type { BatchReport, PipelineObserver } from '../pipeline/batch-report.js';
import type { SourceRecord } from '../sources/source.js';
import { computeMetricSet, type MetricSet } from './metric-set.js';
import { Reservoir } from './reservoir.js';

export interface CollectorOptions {
  /** Which pass (1-based) a record belongs to. */
  passOf: (record: SourceRecord) => number;
  windowRecords: number;
  /** Embeddings kept per pass for the internal metrics and the 2-D views. */
  sampleSize: number;
  /** Points silhouette scores at most (it is O(n²)). */
  silhouetteSample: number;
  seed: number;
}

export interface WindowResult {
  index: number;
  pass: number;
  /** Stream positions (records assigned before), start inclusive, end exclusive. */
  start: number;
  end: number;
  metrics: MetricSet;
  /** Records assigned to each cluster id in the window. */
  clusterSizes: Record<string, number>;
  modelVersion: number;
  storeVersion: number;
  loss: number | null;
  drift: { assignmentPsi: number; distanceEwma: number; outlierShare: number } | null;
}

export interface PassResult {
  pass: number;
  start: number;
  end: number;
  metrics: MetricSet;
}

export interface EventAt {
  /** Stream position of the batch that raised it. */
  position: number;
  pass: number;
  type: 'lifecycle' | 'drift';
  kind: string;
  detail: Record<string, unknown>;
}

export interface SampledPoint {
  embedding: Float32Array;
  cluster: number;
  label: number | undefined;
}

interface Slice {
  pass: number;
  start: number;
  labels: (number | undefined)[];
  predicted: number[];
  sample: Reservoir<SampledPoint>;
}

export class EvaluationCollector implements PipelineObserver {
  readonly windows: WindowResult[] = [];
  readonly passes: PassResult[] = [];
  readonly events: EventAt[] = [];
  private readonly options: CollectorOptions;
  private position = 0;
  private pass: Slice | undefined;
  private window: (Slice & { sizes: Map<number, number> }) | undefined;
  private lastBatch: BatchReport | undefined;
  private finished = false;

  constructor(options: CollectorOptions) {
    if (!Number.isInteger(options.windowRecords) || options.windowRecords < 1) {
      throw new RangeError(
        `windowRecords must be a positive integer; got ${options.windowRecords}`,
      );
    }
    this.options = options;
  }

  /** Records assigned so far. */
  get recordsSeen(): number {
    return this.position;
  }

  /** The embeddings sampled from the last pass (the model of the other passes differed). */
  lastPassSample(): readonly SampledPoint[] {
    return this.pass?.sample.values() ?? this.lastSample;
  }

  private lastSample: readonly SampledPoint[] = [];

  onBatch(report: BatchReport): void {
    const dim = report.embeddingDim;
    this.lastBatch = report;
    report.records.forEach((record, i) => {
      const pass = this.options.passOf(record);
      if (this.pass !== undefined && this.pass.pass !== pass) this.closePass();
      this.pass ??= this.newSlice(pass, this.options.sampleSize);
      if (this.window === undefined) {
        this.window = { ...this.newSlice(pass, this.options.silhouetteSample), sizes: new Map() };
      }
      const cluster = report.clusterIds[i] as number;
      const label = report.labels[i];
      const point: SampledPoint = {
        embedding: report.embeddings.slice(i * dim, (i + 1) * dim),
        cluster,
        label,
      };
      for (const slice of [this.pass, this.window]) {
        slice.labels.push(label);
        slice.predicted.push(cluster);
        slice.sample.add(point);
      }
      this.window.sizes.set(cluster, (this.window.sizes.get(cluster) ?? 0) + 1);
      this.position += 1;
      if (this.window.labels.length >= this.options.windowRecords) this.closeWindow();
    });
    for (const event of report.events) {
      this.events.push({
        position: this.position,
        pass: this.pass?.pass ?? 1,
        type: event.type,
        kind: event.kind,
        detail: event.detail,
      });
    }
  }

  /** Closes the open window and pass; call once the pipeline has drained. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.pass !== undefined) this.closePass();
  }

  onClose(): void {
    this.finish();
  }

  private newSlice(pass: number, sampleSize: number): Slice {
    return {
      pass,
      start: this.position,
      labels: [],
      predicted: [],
      sample: new Reservoir(sampleSize, this.options.seed + pass),
    };
  }

  private metricsOf(slice: Slice): MetricSet {
    const sample = slice.sample.values();
    return computeMetricSet({
      labels: slice.labels,
      predicted: slice.predicted,
      sample: { points: sample.map((p) => p.embedding), predicted: sample.map((p) => p.cluster) },
      silhouetteSample: this.options.silhouetteSample,
      seed: this.options.seed,
    });
  }

  private closeWindow(): void {
    const window = this.window;
    if (window === undefined || window.labels.length === 0) return;
    this.window = undefined;
    const batch = this.lastBatch;
    const drift = batch?.drift;
    this.windows.push({
      index: this.windows.length,
      pass: window.pass,
      start: window.start,
      end: this.position,
      metrics: this.metricsOf(window),
      clusterSizes: Object.fromEntries([...window.sizes].sort((a, b) => a[0] - b[0])),
      modelVersion: batch?.modelVersion ?? 0,
      storeVersion: batch?.storeVersion ?? 0,
      loss: batch?.losses['total'] ?? null,
      drift:
        drift === undefined
          ? null
          : {
              assignmentPsi: drift.assignmentPsi,
              distanceEwma: drift.distanceEwma,
              outlierShare: drift.outlierShare,
            },
    });
  }

  private closePass(): void {
    const pass = this.pass;
    if (pass === undefined) return;
    this.closeWindow();
    this.pass = undefined;
    this.lastSample = pass.sample.values();
    this.passes.push({
      pass: pass.pass,
      start: pass.start,
      end: this.position,
      metrics: this.metricsOf(pass),
    });
  }
}
