/**
 * One micro-batch through the stages after batching: decode → embed/train (worker) → assign and
 * update (centroid store, main thread) → sinks → settle the records' chunks (the source commits).
 *
 * Batches are processed one at a time, in order: the store is a single writer, and the order
 * of its updates is what makes a seeded run reproducible. Until the store is initialised, the
 * embedded batches wait in a WarmupBuffer (their records are not settled, so nothing is
 * committed); when `cluster.warmupSize` records wait they are embedded again with the warm-up's
 * statistics (see warm-up.ts), the store is seeded from them and they are assigned. If the
 * stream stalls first (every in-flight record is waiting), the store starts from what waits
 * after `cluster.warmupMaxWaitMs`.
 */
import type { Config } from '../config/schema.js';
import { JsonDecoder } from '../decode/json-decoder.js';
import { isRetriable } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { onlineKMeansOptionsFromConfig } from '../cluster/config.js';
import { OnlineKMeans, type LifecycleEvent } from '../cluster/online-k-means.js';
import { DriftMonitor, type DriftReport } from '../drift/drift-monitor.js';
import { resolveLabels } from '../losses/positives.js';
import { modelStateFromJson, modelStateToJson, type ModelState } from '../model/model-state.js';
import type { TrainerPool } from '../model/trainer-pool.js';
import { writeCheckpoint, type CheckpointFile } from '../sinks/checkpoint.js';
import type { SourceRecord } from '../sources/source.js';
import type { Assignment, BatchOutput, DeadLetter, Sink, StreamEvent } from '../sinks/sink.js';
import type { BatchReport, PipelineObserver } from './batch-report.js';
import { Checkpointer, stateDigest } from './checkpointer.js';
import { SerialQueue } from './serial-queue.js';
import { WarmupBuffer, type EmbeddedBatch } from './warm-up.js';
import { Watermarks } from './watermarks.js';

interface DecodedRow {
  record: SourceRecord;
  label: number | undefined;
  features: Float32Array;
  /** Features before standardisation, kept while the store warms up. */
  raw: Float32Array | undefined;
  captured: string | number | boolean | null | undefined;
}

export interface BatchProcessorDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  sink: Sink;
  /** Starts the trainer once the input dimension is known (from config or the first record). */
  startTrainer: (inputDim: number, state?: ModelState) => Promise<TrainerPool>;
  observers?: readonly PipelineObserver[];
  /** Continue from this checkpoint (model, optimiser, store, decoder statistics, offsets). */
  resume?: CheckpointFile;
}

export interface ProcessorStatus {
  recordsAssigned: number;
  recordsInvalid: number;
  batches: number;
  clusters: number;
  storeReady: boolean;
  warmup: { seen: number; needed: number };
  lastLoss: number | undefined;
  modelVersion: number;
  storeVersion: number;
  /** Wall-clock milliseconds of the last checkpoint, if any. */
  lastCheckpointAt: number | undefined;
  /** Trainer workers replaced after a failure. */
  workerRestarts: number;
  /** The last sink error while writes are being retried; undefined when writes succeed. */
  sinkFailure: string | undefined;
  /** What the processor awaits now and since when (ms); undefined between batches. */
  waitingOn: { stage: string; since: number } | undefined;
}

export class BatchProcessor {
  private readonly deps: BatchProcessorDeps;
  private readonly decoder: JsonDecoder;
  readonly store: OnlineKMeans;
  private readonly checkpointer: Checkpointer;
  /** Exactly-once only: which input offsets the outputs written so far complete. */
  private readonly watermarks: Watermarks | undefined;
  private trainingSteps = 0;
  private restartsCounted = 0;
  /** The stage a batch awaits now (see `during`); undefined between batches. */
  private waitingOn: { stage: string; since: number } | undefined;
  /** Set while writes to the sinks fail and are being retried. */
  private sinkFailure: string | undefined;
  private readonly drift: DriftMonitor | undefined;
  private lastDrift: DriftReport | undefined;
  private readonly queue = new SerialQueue();
  private trainer: TrainerPool | undefined;
  private readonly warmup: WarmupBuffer;
  private warmupTimer: NodeJS.Timeout | undefined;
  private trainingDraws = 0;
  private readonly counts = { assigned: 0, invalid: 0, batches: 0 };
  private lastLoss: number | undefined;
  private modelVersion = 0;

  constructor(deps: BatchProcessorDeps) {
    this.deps = deps;
    const { cluster, model, losses, decode, drift } = deps.config;
    const capture = losses.positives.source === 'field' ? losses.positives.field : undefined;
    this.decoder = new JsonDecoder(decode, capture);
    this.checkpointer = new Checkpointer(deps.config.checkpoint);
    const exactlyOnce =
      deps.config.source === 'kafka' && deps.config.kafka.delivery === 'exactly-once';
    this.watermarks = exactlyOnce ? new Watermarks() : undefined;
    const resume = deps.resume;
    if (resume === undefined) {
      this.store = new OnlineKMeans(
        onlineKMeansOptionsFromConfig(cluster, model.embeddingDim, cluster.seed),
      );
    } else {
      this.store = OnlineKMeans.restore(resume.store);
      this.decoder.restore(resume.decoder);
      this.checkpointer.resumeFrom(resume.offsets, Date.parse(resume.writtenAt));
      this.modelVersion = resume.model.version;
      this.trainingSteps = resume.model.version;
      deps.metrics.storeReady.set(this.store.ready ? 1 : 0);
    }
    this.drift = drift.enabled ? new DriftMonitor(drift) : undefined;
    this.warmup = new WarmupBuffer(cluster.warmupSize);
  }

  process(records: SourceRecord[]): Promise<void> {
    return this.queue.run(() => this.processNow(records));
  }

  /** Assigns whatever waits for the store (end of a bounded stream, or shutdown), then checkpoints. */
  finish(): Promise<void> {
    return this.queue.run(async () => {
      await this.startStore('end of stream');
      if (this.deps.config.checkpoint.onShutdown) await this.checkpoint('shutdown');
    });
  }

  status(): ProcessorStatus {
    return {
      recordsAssigned: this.counts.assigned,
      recordsInvalid: this.counts.invalid,
      batches: this.counts.batches,
      clusters: this.store.ready ? this.store.clusterCount : 0,
      storeReady: this.store.ready,
      warmup: {
        seen: Math.min(this.warmup.rows, this.warmup.needed),
        needed: this.warmup.needed,
      },
      lastLoss: this.lastLoss,
      modelVersion: this.modelVersion,
      storeVersion: this.store.version,
      lastCheckpointAt: this.checkpointer.lastWrittenAt,
      workerRestarts: this.trainer?.restarts ?? 0,
      sinkFailure: this.sinkFailure,
      waitingOn: this.waitingOn,
    };
  }

  /**
   * Awaits `work`, noting the stage meanwhile, so that a pipeline that stops moving can say what
   * it waits on (the status, a stall warning, the shutdown message) instead of falling silent.
   */
  private async during<T>(stage: string, work: () => Promise<T>): Promise<T> {
    const outer = this.waitingOn;
    this.waitingOn = { stage, since: Date.now() };
    try {
      return await work();
    } finally {
      this.waitingOn = outer;
    }
  }

  /** The drift statistics of the last batch, once the monitor has seen one. */
  get lastDriftReport(): DriftReport | undefined {
    return this.lastDrift;
  }

  async close(): Promise<void> {
    clearTimeout(this.warmupTimer);
    await this.queue.idle();
    await this.trainer?.close();
  }

  private async processNow(records: SourceRecord[]): Promise<void> {
    const { metrics } = this.deps;
    const endBatch = metrics.batchDuration.startTimer();
    this.watermarks?.received(records);
    const decodeTimer = metrics.stageDuration.startTimer({ stage: 'decode' });
    const valid: DecodedRow[] = [];
    const deadLetters: DeadLetter[] = [];
    const keepRaw = !this.store.ready;
    for (const record of records) {
      const decoded = this.decoder.decode(record.value, keepRaw);
      if (decoded.ok) {
        valid.push({
          record,
          label: decoded.label,
          features: decoded.features,
          raw: decoded.raw,
          captured: decoded.captured,
        });
      } else {
        deadLetters.push({ record, reason: decoded.reason, message: decoded.message });
        metrics.recordsInvalid.inc({ reason: decoded.reason });
      }
    }
    metrics.recordsDecoded.inc(valid.length);
    decodeTimer();

    const ready: EmbeddedBatch[] = [];
    if (valid.length > 0) {
      const embedded = await this.embed(valid);
      if (this.store.ready) ready.push(embedded);
      else if (this.warmup.add({ ...embedded, raw: rawFeatures(valid, this.decoder.dim) }))
        await this.startStore('warm-up sample complete');
      else this.armWarmupTimer();
    }
    // Dead letters never wait for the store: they are written (and their records settled) now.
    await this.writeAndSettle(ready, deadLetters);
    this.counts.batches += 1;
    metrics.batches.inc();
    this.checkpointer.batchDone();
    if (this.checkpointer.due())
      await this.during('the checkpoint', () => this.checkpoint('schedule'));
    endBatch();
  }

  private async embed(rows: DecodedRow[]): Promise<EmbeddedBatch> {
    const { config, metrics } = this.deps;
    const dim = this.decoder.dim;
    this.trainer ??= await this.deps.startTrainer(
      dim,
      this.deps.resume === undefined ? undefined : modelStateFromJson(this.deps.resume.model),
    );
    const features = new Float32Array(rows.length * dim);
    rows.forEach((row, i) => features.set(row.features, i * dim));
    const phase = this.trainingSteps < config.training.warmupBatches ? 'warmup' : 'full';
    const train = (phase === 'warmup' || this.store.ready) && this.shouldTrain(config.training);
    const timer = metrics.stageDuration.startTimer({ stage: 'worker' });
    const trainer = this.trainer;
    const result = await this.during('the trainer worker', () =>
      trainer.step({
        // The buffer is transferred to the worker: keep our own copy for the drift statistics.
        features: features.slice(),
        rows: rows.length,
        train,
        phase,
        seed: this.counts.batches,
        ...(train && this.store.ready ? this.trainingInputs(rows) : {}),
      }),
    );
    timer();
    if (result.trained) this.trainingSteps += 1;
    const restarted = this.trainer.restarts - this.restartsCounted;
    if (restarted > 0) metrics.workerRestarts.inc(restarted);
    this.restartsCounted = this.trainer.restarts;
    this.modelVersion = result.modelVersion;
    metrics.modelVersion.set(result.modelVersion);
    metrics.workerTensors.set(result.numTensors);
    if (result.trained) {
      metrics.trainingSteps.inc();
      for (const [part, value] of Object.entries(result.losses)) metrics.loss.set({ part }, value);
      this.lastLoss = result.total;
      if (result.total !== undefined) metrics.loss.set({ part: 'total' }, result.total);
      if (result.mining !== undefined) {
        metrics.miningTriplets.set({ state: 'found' }, result.mining.found);
        metrics.miningTriplets.set({ state: 'active' }, result.mining.active);
        metrics.miningDroppedRatio.set(result.mining.droppedFraction);
      }
    }
    return {
      records: rows.map((r) => r.record),
      labels: rows.map((r) => r.label),
      losses: result.trained
        ? { ...result.losses, ...(result.total === undefined ? {} : { total: result.total }) }
        : {},
      features,
      embeddings: result.embeddings,
      modelVersion: result.modelVersion,
    };
  }

  /** What a training step needs from the store and from the records themselves. */
  private trainingInputs(rows: DecodedRow[]): {
    centroids: Float32Array;
    clusters: number;
    centroidIds: Int32Array;
    clusterSizes: Float32Array;
    labels?: Int32Array;
  } {
    const c = this.store.centroids();
    const source = this.deps.config.losses.positives.source;
    const n = rows.length;
    const labels =
      source === 'field'
        ? resolveLabels('field', { n, fieldValues: rows.map((r) => r.captured) })
        : source === 'key'
          ? resolveLabels('key', { n, keys: rows.map((r) => r.record.key) })
          : undefined;
    return {
      centroids: c.data,
      clusters: c.ids.length,
      centroidIds: c.ids,
      clusterSizes: Float32Array.from(c.weights),
      ...(labels === undefined ? {} : { labels }),
    };
  }

  private shouldTrain(training: Config['training']): boolean {
    if (training.mode === 'off') return false;
    if (training.mode === 'every') return true;
    // A low-discrepancy sequence: exactly round(n × fraction) of the first n batches train.
    this.trainingDraws += 1;
    return (
      Math.floor(this.trainingDraws * training.fraction) >
      Math.floor((this.trainingDraws - 1) * training.fraction)
    );
  }

  private armWarmupTimer(): void {
    clearTimeout(this.warmupTimer);
    this.warmupTimer = setTimeout(() => {
      void this.queue.run(() => this.startStore('no new records within cluster.warmupMaxWaitMs'));
    }, this.deps.config.cluster.warmupMaxWaitMs);
    this.warmupTimer.unref();
  }

  /**
   * Starts the store from the waiting records (embedded again with the warm-up's statistics
   * and the current model) and assigns them. Keeps waiting while fewer than k records wait.
   */
  private async startStore(why: string): Promise<void> {
    if (this.store.ready || this.warmup.rows === 0) return;
    if (this.warmup.rows < this.store.k) {
      this.deps.logger.warn('not enough records to start the centroid store yet', {
        seen: this.warmup.rows,
        k: this.store.k,
      });
      return;
    }
    clearTimeout(this.warmupTimer);
    const batches = await this.warmup.take(
      (raw) => this.decoder.standardizeNow(raw),
      (features, rows) => this.embedOnly(features, rows),
    );
    // The store samples the first cluster.warmupSize of them and seeds itself when it has them,
    // or, when the stream stalled or ended before, from all of them.
    for (const batch of batches) if (this.store.observe(batch.embeddings)) break;
    this.store.initializeNow();
    const { restarts, iterations } = this.deps.config.cluster.init;
    this.deps.logger.info('centroid store started: k-means++ on the warm-up sample', {
      k: this.store.k,
      from: this.store.warmupProgress().seen,
      restarts,
      lloydIterations: iterations,
      why,
    });
    this.deps.metrics.storeReady.set(1);
    this.deps.metrics.clusters.set(this.store.clusterCount);
    await this.writeAndSettle(batches, []);
  }

  /** Embeds rows with the current model, without training (the waiting records at start). */
  private async embedOnly(
    features: Float32Array,
    rows: number,
  ): Promise<{ embeddings: Float32Array; modelVersion: number }> {
    const timer = this.deps.metrics.stageDuration.startTimer({ stage: 'worker' });
    const result = await this.trainer!.step({
      features: features.slice(),
      rows,
      train: false,
      phase: 'full',
      seed: this.counts.batches,
    });
    timer();
    return { embeddings: result.embeddings, modelVersion: result.modelVersion };
  }

  private async writeAndSettle(batches: EmbeddedBatch[], deadLetters: DeadLetter[]): Promise<void> {
    const { metrics } = this.deps;
    const assignTimer = metrics.stageDuration.startTimer({ stage: 'assign' });
    const assigned = batches.map((batch) => this.assignBatch(batch));
    const assignments = assigned.flatMap((a) => a.assignments);
    const events = assigned.flatMap((a) => a.report.events);
    metrics.storeVersion.set(this.store.version);
    metrics.clusters.set(this.store.ready ? this.store.clusterCount : 0);
    assignTimer();
    if (assignments.length === 0 && deadLetters.length === 0) return;
    const sinkTimer = metrics.stageDuration.startTimer({ stage: 'sink' });
    let offsets: ReturnType<Watermarks['offsets']> | undefined;
    if (this.watermarks !== undefined) {
      // These outputs and the offsets they complete commit in one transaction.
      this.watermarks.settled(assignments.map((a) => a.record));
      this.watermarks.settled(deadLetters.map((d) => d.record));
      offsets = this.watermarks.offsets();
    }
    await this.during('the sink write', () =>
      this.writeWithRetry({
        assignments,
        deadLetters,
        events,
        ...(offsets === undefined ? {} : { offsets }),
      }),
    );
    sinkTimer();
    for (const a of assignments) a.record.chunk.settle();
    for (const d of deadLetters) d.record.chunk.settle();
    this.checkpointer.settled(assignments.map((a) => a.record));
    this.checkpointer.settled(deadLetters.map((d) => d.record));
    this.counts.assigned += assignments.length;
    this.counts.invalid += deadLetters.length;
    metrics.recordsAssigned.inc(assignments.length);
    for (const { report } of assigned) {
      for (const observer of this.deps.observers ?? []) observer.onBatch?.(report);
    }
  }

  /** Assigns one batch and updates the store and the drift monitor with it. */
  private assignBatch(batch: EmbeddedBatch): { assignments: Assignment[]; report: BatchReport } {
    const before = this.drift === undefined ? undefined : this.store.centroids();
    const update = this.deps.config.cluster.frozen
      ? { ...this.store.assign(batch.embeddings), events: [] }
      : this.store.update(batch.embeddings, {
          eventTimeMs: batch.records[0]?.timestamp ?? Date.now(),
        });
    const { clusterIds, distances } = update;
    const storeVersion = this.store.version;
    const assignments = batch.records.map((record, i) => ({
      record,
      clusterId: clusterIds[i] as number,
      distance: distances[i] as number,
      modelVersion: batch.modelVersion,
      storeVersion,
    }));
    const events: StreamEvent[] = update.events.map((e) => this.lifecycleEvent(e));
    const after = this.store.centroids();
    let drift: DriftReport | undefined;
    if (this.drift !== undefined && before !== undefined) {
      drift = this.drift.observe({
        clusterIds,
        distances,
        centroids: { before, after },
        inputs: batch.features,
      });
      this.recordDrift(drift);
      for (const e of drift.events) {
        events.push({ type: 'drift', kind: e.kind, detail: { ...e }, at: Date.now() });
      }
    }
    const report: BatchReport = {
      at: Date.now(),
      records: batch.records,
      labels: batch.labels,
      features: batch.features,
      inputDim: this.decoder.dim,
      embeddings: batch.embeddings,
      embeddingDim: this.deps.config.model.embeddingDim,
      clusterIds,
      distances,
      centroids: after,
      drift,
      events,
      modelVersion: batch.modelVersion,
      storeVersion,
      losses: batch.losses,
    };
    return { assignments, report };
  }

  private lifecycleEvent(e: LifecycleEvent): StreamEvent {
    this.deps.metrics.lifecycleEvents.inc({ kind: e.kind });
    if (e.kind !== 'born' || e.batch > 0) {
      this.deps.logger.info(`cluster ${e.kind}`, {
        cluster: e.clusterId,
        related: e.relatedId,
        reason: e.reason,
      });
    }
    return { type: 'lifecycle', kind: e.kind, detail: { ...e }, at: Date.now() };
  }

  private recordDrift(report: DriftReport): void {
    const { metrics, logger } = this.deps;
    this.lastDrift = report;
    const set = (gauge: { set(value: number): void }, value: number): void => {
      if (Number.isFinite(value)) gauge.set(value);
    };
    set(
      { set: (v) => metrics.centroidDisplacement.set({ statistic: 'mean' }, v) },
      report.centroidShiftMean,
    );
    set(
      { set: (v) => metrics.centroidDisplacement.set({ statistic: 'max' }, v) },
      report.centroidShiftMax,
    );
    set(
      { set: (v) => metrics.centroidDisplacement.set({ statistic: 'from_reference' }, v) },
      report.centroidShiftFromReference,
    );
    set(metrics.assignmentPsi, report.assignmentPsi);
    set(metrics.assignmentJs, report.assignmentJs);
    set(metrics.distanceEwma, report.distanceEwma);
    set(metrics.outlierRatio, report.outlierShare);
    set(metrics.clusterEntropy, report.clusterEntropy);
    set(metrics.nearEmptyClusters, report.nearEmptyClusters);
    set({ set: (v) => metrics.inputPsi.set({ statistic: 'max' }, v) }, report.inputPsiMax);
    set({ set: (v) => metrics.inputPsi.set({ statistic: 'mean' }, v) }, report.inputPsiMean);
    for (const e of report.events) {
      metrics.driftEvents.inc({ kind: e.kind, detector: e.detector });
      logger.warn(`drift detected: ${e.kind} by ${e.detector}`, {
        statistic: Number(e.statistic.toFixed(4)),
        threshold: e.threshold,
        window: `${e.windowStart}-${e.windowEnd}`,
        ...(e.feature === null ? {} : { feature: e.feature }),
      });
    }
  }

  /** Writes a checkpoint now, if checkpoints are on and the state is whole (no warm-up wait). */
  private async checkpoint(why: 'schedule' | 'shutdown'): Promise<void> {
    if (!this.checkpointer.enabled || this.trainer === undefined || !this.store.ready) return;
    if (this.warmup.rows > 0) return;
    const timer = this.deps.metrics.stageDuration.startTimer({ stage: 'checkpoint' });
    const model = await this.trainer.getState();
    const path = await writeCheckpoint(this.deps.config.checkpoint.dir, {
      writtenAt: new Date().toISOString(),
      batches: this.counts.batches,
      records: this.counts.assigned + this.counts.invalid,
      inputDim: this.decoder.dim,
      configDigest: stateDigest(this.deps.config),
      model: modelStateToJson(model),
      store: this.store.snapshot(),
      decoder: this.decoder.statistics(),
      offsets: this.checkpointer.offsets(),
    });
    this.checkpointer.written();
    timer();
    this.deps.logger[why === 'shutdown' ? 'info' : 'debug']('checkpoint written', {
      path,
      modelVersion: model.version,
      storeVersion: this.store.version,
    });
  }

  /**
   * Writes to the sinks until they acknowledge. A retriable failure (the broker away, a leader
   * moving) is retried with capped exponential backoff for as long as it lasts, and reported on
   * /readyz meanwhile; the source is held back by the unsettled records, so nothing piles up. A
   * permanent failure stops the pipeline: its records stay uncommitted and are read again.
   */
  private async writeWithRetry(output: BatchOutput): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.sink.write(output);
        if (this.sinkFailure !== undefined) this.deps.logger.info('the sinks accept writes again');
        this.sinkFailure = undefined;
        return;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        this.sinkFailure = String(error);
        const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
        this.deps.logger.warn('writing to the sinks failed; retrying', {
          attempt,
          delayMs: delay,
          error: String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** The rows' features before standardisation, rows × dim (the decoded ones if none were kept). */
function rawFeatures(rows: DecodedRow[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => out.set(row.raw ?? row.features, i * dim));
  return out;
}
