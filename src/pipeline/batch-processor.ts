/**
 * One micro-batch through the stages after batching: decode → embed/train (worker) → assign and
 * update (centroid store, main thread) → sinks → settle the records' chunks (the source commits).
 *
 * Batches are processed one at a time, in order: the store is a single writer, and the order
 * of its updates is what makes a seeded run reproducible. Until the store is initialised, the
 * embedded batches wait here (their records are not settled, so nothing is committed) and are
 * assigned as soon as it is; if the stream stalls first (every in-flight record is waiting
 * here), the store starts from the warm-up sample it has after `cluster.warmupMaxWaitMs`.
 */
import type { Config } from '../config/schema.js';
import { JsonDecoder } from '../decode/json-decoder.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { OnlineKMeans } from '../cluster/online-k-means.js';
import type { TrainerPool } from '../model/trainer-pool.js';
import type { SourceRecord } from '../sources/source.js';
import type { Assignment, DeadLetter, Sink } from '../sinks/sink.js';
import { SerialQueue } from './serial-queue.js';

interface EmbeddedBatch {
  records: SourceRecord[];
  embeddings: Float32Array;
  modelVersion: number;
}

export interface BatchProcessorDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  sink: Sink;
  /** Starts the trainer once the input dimension is known (from config or the first record). */
  startTrainer: (inputDim: number) => Promise<TrainerPool>;
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
}

export class BatchProcessor {
  private readonly deps: BatchProcessorDeps;
  private readonly decoder: JsonDecoder;
  readonly store: OnlineKMeans;
  private readonly queue = new SerialQueue();
  private trainer: TrainerPool | undefined;
  private pending: EmbeddedBatch[] = [];
  private warmupTimer: NodeJS.Timeout | undefined;
  private trainingDraws = 0;
  private readonly counts = { assigned: 0, invalid: 0, batches: 0 };
  private lastLoss: number | undefined;
  private modelVersion = 0;

  constructor(deps: BatchProcessorDeps) {
    this.deps = deps;
    this.decoder = new JsonDecoder(deps.config.decode);
    const { cluster, model } = deps.config;
    this.store = new OnlineKMeans({
      k: cluster.k,
      dim: model.embeddingDim,
      seed: cluster.seed,
      warmupSize: cluster.warmupSize,
    });
  }

  process(records: SourceRecord[]): Promise<void> {
    return this.queue.run(() => this.processNow(records));
  }

  /** Assigns whatever waits for the store (end of a bounded stream, or shutdown). */
  finish(): Promise<void> {
    return this.queue.run(() => this.startStore('end of stream'));
  }

  status(): ProcessorStatus {
    return {
      recordsAssigned: this.counts.assigned,
      recordsInvalid: this.counts.invalid,
      batches: this.counts.batches,
      clusters: this.store.ready ? this.store.k : 0,
      storeReady: this.store.ready,
      warmup: this.store.warmupProgress(),
      lastLoss: this.lastLoss,
      modelVersion: this.modelVersion,
      storeVersion: this.store.version,
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.warmupTimer);
    await this.queue.idle();
    await this.trainer?.close();
  }

  private async processNow(records: SourceRecord[]): Promise<void> {
    const { metrics } = this.deps;
    const endBatch = metrics.batchDuration.startTimer();
    const decodeTimer = metrics.stageDuration.startTimer({ stage: 'decode' });
    const valid: SourceRecord[] = [];
    const rows: Float32Array[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const record of records) {
      const decoded = this.decoder.decode(record.value);
      if (decoded.ok) {
        valid.push(record);
        rows.push(decoded.features);
      } else {
        deadLetters.push({ record, reason: decoded.reason, message: decoded.message });
        metrics.recordsInvalid.inc({ reason: decoded.reason });
      }
    }
    metrics.recordsDecoded.inc(valid.length);
    decodeTimer();

    const ready: EmbeddedBatch[] = [];
    if (valid.length > 0) {
      const embedded = await this.embed(valid, rows);
      if (this.store.ready) ready.push(embedded);
      else {
        this.pending.push(embedded);
        if (this.store.observe(embedded.embeddings))
          ready.push(...this.takePending('warm-up sample complete'));
        else this.armWarmupTimer();
      }
    }
    // Dead letters never wait for the store: they are written (and their records settled) now.
    await this.writeAndSettle(ready, deadLetters);
    this.counts.batches += 1;
    metrics.batches.inc();
    endBatch();
  }

  private async embed(records: SourceRecord[], rows: Float32Array[]): Promise<EmbeddedBatch> {
    const { config, metrics } = this.deps;
    const dim = this.decoder.dim;
    this.trainer ??= await this.deps.startTrainer(dim);
    const features = new Float32Array(rows.length * dim);
    rows.forEach((row, i) => features.set(row, i * dim));
    const train = this.store.ready && this.shouldTrain(config.training);
    const centroids = train ? this.store.centroids().data : undefined;
    const timer = metrics.stageDuration.startTimer({ stage: 'worker' });
    const result = await this.trainer.step({
      features,
      rows: rows.length,
      train,
      ...(centroids === undefined ? {} : { centroids, clusters: this.store.k }),
    });
    timer();
    this.modelVersion = result.modelVersion;
    metrics.modelVersion.set(result.modelVersion);
    metrics.workerTensors.set(result.numTensors);
    if (result.trained) {
      metrics.trainingSteps.inc();
      for (const [part, value] of Object.entries(result.losses)) metrics.loss.set({ part }, value);
      this.lastLoss = Object.values(result.losses).reduce((a, b) => a + b, 0);
    }
    return { records, embeddings: result.embeddings, modelVersion: result.modelVersion };
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

  private async startStore(why: string): Promise<void> {
    if (this.store.ready || this.pending.length === 0) return;
    if (!this.store.initializeNow()) {
      const { seen } = this.store.warmupProgress();
      this.deps.logger.warn('not enough distinct records to start the centroid store yet', {
        seen,
        k: this.store.k,
      });
      return;
    }
    await this.writeAndSettle(this.takePending(why), []);
  }

  private takePending(why: string): EmbeddedBatch[] {
    clearTimeout(this.warmupTimer);
    const { seen } = this.store.warmupProgress();
    this.deps.logger.info('centroid store initialised with k-means++', {
      k: this.store.k,
      from: seen,
      why,
    });
    this.deps.metrics.storeReady.set(1);
    this.deps.metrics.clusters.set(this.store.k);
    const batches = this.pending;
    this.pending = [];
    return batches;
  }

  private async writeAndSettle(batches: EmbeddedBatch[], deadLetters: DeadLetter[]): Promise<void> {
    const { metrics } = this.deps;
    const assignTimer = metrics.stageDuration.startTimer({ stage: 'assign' });
    const assignments: Assignment[] = [];
    for (const batch of batches) {
      const { clusterIds, distances } = this.store.update(batch.embeddings);
      batch.records.forEach((record, i) => {
        assignments.push({
          record,
          clusterId: clusterIds[i] as number,
          distance: distances[i] as number,
          modelVersion: batch.modelVersion,
          storeVersion: this.store.version,
        });
      });
    }
    metrics.storeVersion.set(this.store.version);
    assignTimer();
    if (assignments.length === 0 && deadLetters.length === 0) return;
    const sinkTimer = metrics.stageDuration.startTimer({ stage: 'sink' });
    await this.writeWithRetry(assignments, deadLetters);
    sinkTimer();
    for (const a of assignments) a.record.chunk.settle();
    for (const d of deadLetters) d.record.chunk.settle();
    this.counts.assigned += assignments.length;
    this.counts.invalid += deadLetters.length;
    metrics.recordsAssigned.inc(assignments.length);
  }

  private async writeWithRetry(
    assignments: Assignment[],
    deadLetters: DeadLetter[],
  ): Promise<void> {
    const attempts = 8;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.sink.write({ assignments, deadLetters });
        return;
      } catch (error) {
        if (attempt >= attempts) throw error;
        const delay = Math.min(10_000, 250 * 2 ** attempt);
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
