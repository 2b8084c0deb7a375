/**
 * One micro-batch through the stages after batching, in three stages: decode (decode-stage.ts)
 * → embed (embedding-stage.ts, the worker); assign and update (batch-assigner.ts: store,
 * lifecycle, drift), then issue the write (sink-writer.ts, retried while the sinks are away);
 * await the acknowledgement → settle the records' chunks (the source commits). Checkpoints are
 * decided and written by the Checkpointer (state/checkpointer.ts).
 *
 * Each stage takes one batch at a time, in order: the store is a single writer, and the order
 * of its updates is what makes a seeded run reproducible; while batch i waits for its
 * acknowledgement, batch i+1 is assigned and its write issued, and batch i+2 decoded and
 * embedded (see `process`). Records settle in input order, and none after a failed write.
 * Until the store is initialised, the embedded batches wait in a WarmupBuffer (their records
 * are not settled, so nothing is committed); when `cluster.warmupSize` records wait they are
 * standardised again with the warm-up's statistics (see warm-up.ts), the network pretrains on
 * them, they are embedded, the store is seeded from them and they are assigned. If the stream
 * stalls first (every in-flight record is waiting), the store starts from what waits after
 * `cluster.warmupMaxWaitMs`; with fewer than k waiting it releases their chunks, so that a
 * Kafka source fetches on. Once a batch is assigned and written, the online learner
 * (online-learner.ts) remembers it and trains from its replay memory, so no record is scored
 * by weights that trained on it: by default beside the stream, the next batch not waiting for
 * those steps (training.schedule).
 */
import type { Config } from '../config/schema.js';
import type { JsonDecoder } from '../decode/json-decoder.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { onlineKMeansOptionsFromConfig } from '../cluster/config.js';
import { OnlineKMeans } from '../cluster/online-k-means.js';
import type { DriftReport } from '../drift/drift-monitor.js';
import { modelStateToJson, pack, type ModelState } from '../model/model-state.js';
import type { TrainerPool } from '../model/trainer-pool.js';
import type { CheckpointFile } from '../state/checkpoint.js';
import type { SourceRecord } from '../sources/source.js';
import type { Assignment, DeadLetter, Sink } from '../sinks/sink.js';
import { BatchAssigner } from './batch-assigner.js';
import { DriftWatch } from './drift-watch.js';
import type { PipelineObserver } from './batch-report.js';
import type { ClusterProfile } from '../cluster/cluster-profiles.js';
import { Checkpointer } from '../state/checkpointer.js';
import type { InvalidReason } from './invalid-tally.js';
import { DecodeStage, type DecodedBatch } from './decode-stage.js';
import { EmbeddingStage } from './embedding-stage.js';
import { OnlineLearner } from './online-learner.js';
import { SerialQueue } from '../serial-queue.js';
import { SinkWriter } from './sink-writer.js';
import { WarmupBuffer, type EmbeddedBatch, type WaitingBatch } from './warm-up.js';
import { Watermarks } from './watermarks.js';

/** A batch after the first stage (decode, embed), waiting for the second (assign, write). */
interface PreparedBatch {
  records: SourceRecord[];
  deadLetters: DeadLetter[];
  /** Its valid records embedded, with their features before standardisation (`raw`). */
  embedded: WaitingBatch | undefined;
  /** Embedded before the store started, so with the weights from before pretraining. */
  beforeStore: boolean;
  endBatch: () => void;
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
  /**
   * A consumer group sharing one state (sync.enabled, group-sync.ts): only its leader seeds the
   * store from a warm-up sample; the others wait for the leader's state (`adoptShared`).
   */
  group?: { mayStartStore(): boolean };
}

export interface ProcessorStatus {
  recordsAssigned: number;
  recordsInvalid: number;
  /** Invalid records by reason, most frequent first, each with its first example. */
  invalidReasons: [string, InvalidReason][];
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
  private readonly decoding: DecodeStage;
  private readonly embedding: EmbeddingStage;
  private storeNow: OnlineKMeans;
  private readonly learner: OnlineLearner;
  private readonly checkpointer: Checkpointer;
  /** Exactly-once only: which input offsets the outputs written so far complete. */
  private readonly watermarks: Watermarks | undefined;
  /** What the batches in flight await now (see `during`). */
  private readonly waits = new Set<{ stage: string; since: number }>();
  private readonly writer: SinkWriter;
  private readonly assigner: BatchAssigner;
  private readonly driftWatch: DriftWatch;
  /** The second stage of every batch (assign, issue the write), one batch at a time, in order. */
  private readonly queue = new SerialQueue();
  /** The third stage (await the acknowledgement, settle), one batch at a time, in order. */
  private readonly settling = new SerialQueue();
  /** A write that failed for good: later batches' records are not settled (nor committed). */
  private writeFailure: unknown;
  /** The first stage (decode, embed), one batch at a time, in order, ahead of the second. */
  private readonly firstStage = new SerialQueue();
  private readonly warmup: WarmupBuffer;
  private warmupTimer: NodeJS.Timeout | undefined;
  /** Said once per wait: the warm-up sample is complete but the group's leader seeds the store. */
  private waitingForLeader = false;
  private readonly counts = { assigned: 0, invalid: 0, batches: 0 };

  constructor(deps: BatchProcessorDeps) {
    this.deps = deps;
    const { cluster } = deps.config;
    this.decoding = new DecodeStage(deps);
    this.checkpointer = new Checkpointer(deps.config.checkpoint);
    const exactlyOnce =
      deps.config.source === 'kafka' && deps.config.kafka.delivery === 'exactly-once';
    this.watermarks = exactlyOnce ? new Watermarks() : undefined;
    const resume = deps.resume;
    this.learner = new OnlineLearner(
      deps,
      resume === undefined
        ? undefined
        : {
            steps: resume.model.version,
            ...(resume.memory === undefined ? {} : { memory: resume.memory }),
          },
    );
    this.embedding = new EmbeddingStage({
      ...deps,
      learner: this.learner,
      during: (stage, work) => this.during(stage, work),
    });
    if (resume === undefined) {
      this.storeNow = new OnlineKMeans(
        onlineKMeansOptionsFromConfig(cluster, this.storeDim(this.decoder.dim), cluster.seed),
      );
    } else {
      this.storeNow = OnlineKMeans.restore(resume.store);
      this.decoder.restore(resume.decoder);
      this.checkpointer.resumeFrom(resume.offsets, Date.parse(resume.writtenAt));
      deps.metrics.storeReady.set(this.store.ready ? 1 : 0);
    }
    this.writer = new SinkWriter(deps.sink, deps.logger);
    this.driftWatch = new DriftWatch(deps);
    this.assigner = new BatchAssigner({ ...deps, driftWatch: this.driftWatch });
    this.warmup = new WarmupBuffer(cluster.warmupSize);
  }

  /** The centroid store (single writer: this processor). */
  get store(): OnlineKMeans {
    return this.storeNow;
  }

  private get decoder(): JsonDecoder {
    return this.decoding.decoder;
  }

  private get trainer(): TrainerPool | undefined {
    return this.embedding.trainer;
  }

  /**
   * The space the store clusters: the embedding, or with `model.kind: none` the scaled input
   * itself, whose dimension is known only from the first record when the configuration does not
   * declare it (until then a placeholder of dimension 1, replaced before it sees any point).
   */
  private storeDim(inputDim: number): number {
    return this.deps.config.model.kind === 'none'
      ? Math.max(1, inputDim)
      : this.deps.config.model.embeddingDim;
  }

  /**
   * Processes one batch in three stages: decode and embed; assign and issue the write; await the
   * acknowledgement and settle. Batches pass each stage one at a time and in order, and the
   * pipeline keeps three in flight: while one awaits its acknowledgement (where `writesOverlap`
   * allows), the next is assigned, and the one after it decoded and embedded (where
   * `stagesOverlap` allows).
   */
  async process(records: SourceRecord[]): Promise<void> {
    const prepared = this.stagesOverlap
      ? this.firstStage.run(() => this.prepare(records))
      : undefined;
    // `complete` hands back its batch's settling in a box, so the queue does not wait for it.
    const { settled } = await this.queue.run(async () =>
      this.complete(await (prepared ?? this.prepare(records))),
    );
    await settled;
  }

  /**
   * Whether a batch's write may be awaited beside the next batch's assignment: always, but with
   * exactly-once delivery, whose transactions (outputs and offsets together) run one at a time.
   */
  private get writesOverlap(): boolean {
    return this.watermarks === undefined;
  }

  /**
   * Whether a batch may be embedded before the previous one is assigned: when nothing trains, or
   * when training runs beside the stream anyway. Inline training (evaluate, replay) keeps the
   * stages in sequence, so that every batch is embedded after the steps of the one before it
   * and a seeded run gives the same assignments every time; so does training inside the
   * embedding step (positives from a record field or key), which needs the store's latest state.
   */
  private get stagesOverlap(): boolean {
    if (!this.learner.hasNetwork || this.deps.config.training.mode === 'off') return true;
    return this.learner.replays && this.learner.inBackground;
  }

  /** Assigns whatever waits for the store (end of a bounded stream, or shutdown), then checkpoints. */
  finish(): Promise<void> {
    return this.queue.run(async () => {
      await this.startStore('end of stream');
      await this.settling.idle();
      // The steps the last batches bought are trained before the final checkpoint.
      await this.during('training', () => this.learner.settle());
      if (this.deps.config.checkpoint.onShutdown) await this.checkpoint('shutdown');
    });
  }

  status(): ProcessorStatus {
    return {
      recordsAssigned: this.counts.assigned,
      recordsInvalid: this.counts.invalid,
      invalidReasons: this.decoding.invalid.byReason(),
      batches: this.counts.batches,
      clusters: this.store.ready ? this.store.clusterCount : 0,
      storeReady: this.store.ready,
      warmup: {
        seen: Math.min(this.warmup.rows, this.warmup.needed),
        needed: this.warmup.needed,
      },
      lastLoss: this.learner.lastLoss,
      modelVersion: Math.max(this.embedding.modelVersion, this.learner.modelVersion),
      storeVersion: this.store.version,
      lastCheckpointAt: this.checkpointer.lastWrittenAt,
      workerRestarts: this.trainer?.restarts ?? 0,
      sinkFailure: this.writer.failure,
      waitingOn: this.waitingOn,
    };
  }

  /** The longest wait of the batches in flight, undefined when none waits. */
  private get waitingOn(): { stage: string; since: number } | undefined {
    let oldest: { stage: string; since: number } | undefined;
    for (const wait of this.waits)
      if (oldest === undefined || wait.since < oldest.since) oldest = wait;
    return oldest === undefined ? undefined : { ...oldest };
  }

  /**
   * Awaits `work`, noting the stage meanwhile, so that a pipeline that stops moving can say what
   * it waits on (the status, a stall warning, the shutdown message) instead of falling silent.
   */
  private async during<T>(stage: string, work: () => Promise<T>): Promise<T> {
    const wait = { stage, since: Date.now() };
    this.waits.add(wait);
    try {
      return await work();
    } finally {
      this.waits.delete(wait);
    }
  }

  /** The drift statistics of the last batch, once the monitor has seen one. */
  get lastDriftReport(): DriftReport | undefined {
    return this.assigner.lastDrift;
  }

  /** Each cluster's profile in input units (cluster-profiles.ts), for those with records. */
  profiles(): Map<number, ClusterProfile> {
    return this.assigner.profiles?.all() ?? new Map();
  }

  async close(): Promise<void> {
    clearTimeout(this.warmupTimer);
    await this.firstStage.idle();
    await this.queue.idle();
    await this.settling.idle();
    await this.learner.stop();
    await this.trainer?.close();
    await this.decoding.close();
  }

  /** First stage: decode, and embed with the current weights. */
  private async prepare(records: SourceRecord[]): Promise<PreparedBatch> {
    const endBatch = this.deps.metrics.batchDuration.startTimer();
    const decoded = await this.decoding.decode(records);
    const beforeStore = !this.store.ready;
    const embedded =
      decoded.valid.length > 0
        ? { ...(await this.embed(decoded)), raw: decoded.inputs }
        : undefined;
    return {
      records,
      deadLetters: decoded.deadLetters,
      embedded,
      beforeStore,
      endBatch,
    };
  }

  /**
   * Second stage: warm-up or assignment, the writes issued, training, checkpoints. Returns the
   * batch's third stage, which resolves once its records are settled.
   */
  private async complete(batch: PreparedBatch): Promise<{ settled: Promise<void> }> {
    const { metrics } = this.deps;
    const { records, deadLetters, embedded, endBatch } = batch;
    // Background training that failed fails the pipeline here, as an inline step would have.
    this.learner.throwIfFailed();
    this.watermarks?.received(records);
    // The raw inputs are tested for drift in input order, whether the store is ready or not.
    if (embedded !== undefined && this.driftWatch.wantsRaw) {
      const driftTimer = metrics.stageDuration.startTimer({ stage: 'drift' });
      this.driftWatch.observeInputs(embedded.raw, this.decoder.dim);
      driftTimer();
    }
    const ready: EmbeddedBatch[] = [];
    if (embedded !== undefined) {
      if (this.store.ready) {
        // Embedded while the store was starting: the network has been pretrained since.
        ready.push(
          batch.beforeStore ? await this.embedding.again(embedded, this.counts.batches) : embedded,
        );
      } else if (this.warmup.add(embedded)) await this.startStore('warm-up sample complete');
      else this.armWarmupTimer();
    }
    // Dead letters never wait for the store: they are written (and their records settled) now.
    const { settled } = this.assignAndWrite(ready, deadLetters);
    if (!this.writesOverlap) await settled;
    // Trains after the batch is assigned, so every record is scored by weights that never saw it.
    for (const batch of ready) this.learner.remember(batch.features, this.decoder.dim);
    if (
      ready.length > 0 &&
      this.trainer !== undefined &&
      this.learner.replays &&
      this.learner.shouldTrain()
    ) {
      const trainer = this.trainer;
      const rows = ready.reduce((n, b) => n + b.records.length, 0);
      if (this.learner.inBackground) this.learner.trainBehind(trainer, this.store, rows);
      else
        await this.during('training', () =>
          this.learner.trainOnArrival(trainer, this.store, rows, this.counts.batches),
        );
    }
    this.counts.batches += 1;
    metrics.batches.inc();
    this.checkpointer.batchDone();
    if (this.checkpointer.due())
      await this.during('the checkpoint', () => this.checkpoint('schedule'));
    return { settled: settled.then(endBatch) };
  }

  private async embed(decoded: DecodedBatch): Promise<EmbeddedBatch> {
    const dim = this.decoder.dim;
    // Without a network the store clusters the scaled input, whose dimension the first record
    // may have fixed only now.
    if (!this.learner.hasNetwork && !this.store.ready && this.store.dim !== dim) {
      const { cluster } = this.deps.config;
      this.storeNow = new OnlineKMeans(onlineKMeansOptionsFromConfig(cluster, dim, cluster.seed));
    }
    return this.embedding.embed(decoded, dim, this.store, this.counts.batches);
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
    if (this.deps.group !== undefined && !this.deps.group.mayStartStore()) {
      if (!this.waitingForLeader)
        this.deps.logger.info("waiting for the group leader's state before assigning", {
          waiting: this.warmup.rows,
          why: 'the leader alone seeds the store, so that a cluster id means the same on every instance',
        });
      this.waitingForLeader = true;
      return;
    }
    if (this.warmup.rows < this.store.k) {
      // The source may be holding back its next reads until these records settle (Kafka reads
      // one fetch per partition at a time): let it read on, or this would wait for ever.
      const chunks = this.warmup.chunks();
      for (const chunk of chunks) chunk.release();
      this.deps.logger.warn('not enough records to start the centroid store yet', {
        seen: this.warmup.rows,
        k: this.store.k,
        why,
        next: `reading on; the store starts at cluster.warmupSize (${this.warmup.needed}) records, or from at least k after cluster.warmupMaxWaitMs without new records`,
      });
      return;
    }
    clearTimeout(this.warmupTimer);
    const batches = await this.warmup.take(
      (raw) => this.decoder.standardizeNow(raw),
      (features, rows) => this.embedding.embedOnly(features, rows, this.counts.batches),
      async (standardized) => {
        for (const f of standardized) this.learner.remember(f, this.decoder.dim);
        const trainer = this.trainer;
        if (trainer !== undefined)
          await this.during('pretraining', () => this.learner.pretrain(trainer));
      },
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
    await this.assignAndWrite(batches, []).settled;
  }

  /**
   * A consumer group's leader trains and takes the store's lifecycle decisions; the others only
   * fold their records into the state the leader published (group-sync.ts).
   */
  setLeader(leader: boolean): void {
    // With sync.network average every instance trains; the leader averages the weights.
    this.learner.paused = !leader && this.deps.config.sync.network === 'leader';
    this.storeNow.followsLeader = !leader;
  }

  /**
   * The steps other instances' records buy, trained on this instance's replay memory (a group's
   * leader, which trains for the group). Call it through `exclusive`.
   */
  async trainForGroup(records: number): Promise<void> {
    const trainer = this.trainer;
    if (trainer === undefined || !this.learner.replays || !this.store.ready) return;
    if (!this.learner.shouldTrain()) return;
    if (this.learner.inBackground) this.learner.trainBehind(trainer, this.store, records);
    else
      await this.during('training', () =>
        this.learner.trainOnArrival(trainer, this.store, records, this.counts.batches),
      );
  }

  /** Records drawn by training steps so far (an instance's vote in the group's average). */
  trainedRecords(): number {
    return this.learner.trainingSteps * this.deps.config.training.anchors;
  }

  /** Replaces the network's weights (the group's average). */
  setModel(state: ModelState): Promise<void> {
    return this.embedding.setModel(state);
  }

  /** Seeds the store from the records waiting for it, if any (a group's new leader). */
  startStoreIfWaiting(why: string): Promise<void> {
    return this.queue.run(() => this.startStore(why));
  }

  /** Runs `work` between two batches' store updates (the store's single-writer queue). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.run(work);
  }

  /** The decoder's running statistics (shared with a consumer group's other instances). */
  decoderStatistics(): ReturnType<JsonDecoder['statistics']> {
    return this.decoder.statistics();
  }

  /**
   * The network's weights now, without the optimiser state: the trainer's, or before it started
   * those adopted from the group; undefined when there are neither.
   */
  async modelWeights(): Promise<ModelState | undefined> {
    const trainer = this.trainer;
    if (trainer === undefined) return this.embedding.adoptedModel;
    const state = await trainer.getState();
    return { version: state.version, variables: state.variables, optimizer: pack([]) };
  }

  /**
   * Serves from a state the group's leader published: its store (already holding this
   * instance's own records that the leader had not folded in), its decoder statistics and its
   * weights. Records that waited for it (the warm-up) are standardised and embedded again with
   * them and assigned. Call it through `exclusive`.
   */
  async adoptShared(
    store: OnlineKMeans,
    decoder: ReturnType<JsonDecoder['statistics']>,
    model: ModelState | undefined,
  ): Promise<void> {
    if (store.dim !== this.storeNow.dim && this.learner.hasNetwork)
      throw new Error(
        `the group's store has dimension ${store.dim}, this instance's embedding ${this.storeNow.dim}: every instance of a group needs the same model settings`,
      );
    this.storeNow = store;
    if (decoder.count > 0) this.decoder.restore(decoder);
    if (model !== undefined && this.learner.hasNetwork) await this.embedding.setModel(model);
    this.deps.metrics.storeReady.set(1);
    this.deps.metrics.clusters.set(store.clusterCount);
    this.deps.metrics.storeVersion.set(store.version);
    if (this.warmup.rows === 0) return;
    clearTimeout(this.warmupTimer);
    this.waitingForLeader = false;
    const batches = await this.warmup.take(
      (raw) => this.decoder.standardizeNow(raw),
      (features, rows) => this.embedding.embedOnly(features, rows, this.counts.batches),
      async (standardized) => {
        for (const f of standardized) this.learner.remember(f, this.decoder.dim);
      },
    );
    this.deps.logger.info("serving from the group leader's state", {
      waited: batches.reduce((n, b) => n + b.records.length, 0),
      clusters: store.clusterCount,
    });
    await this.assignAndWrite(batches, []).settled;
  }

  /**
   * Assigns JSON records with the state as it is now, changing nothing (POST /assign): each
   * decoded, standardised with the current statistics, embedded with the current weights and
   * given its nearest cluster. A record that does not decode gets its reason instead.
   */
  async assignValues(
    values: readonly Buffer[],
  ): Promise<({ clusterId: number; distance: number } | { error: string })[]> {
    if (!this.store.ready) throw new Error('the centroid store is still warming up');
    const dim = this.decoder.dim;
    const parsed = values.map((v) => this.decoder.parse(v));
    const ok = parsed.flatMap((p) => (p.ok && p.raw.length === dim ? [p.raw] : []));
    const raw = new Float32Array(ok.length * dim);
    ok.forEach((r, i) => raw.set(r, i * dim));
    const features = this.decoder.standardizeNow(raw);
    const { embeddings } = await this.embedding.embedOnly(features, ok.length, 0);
    const { clusterIds, distances } = this.store.assign(embeddings);
    let next = 0;
    return parsed.map((p) => {
      if (!p.ok) return { error: `${p.reason}: ${p.message}` };
      if (p.raw.length !== dim)
        return { error: `wrong_length: ${p.raw.length} features, expected ${dim}` };
      const i = next++;
      return { clusterId: clusterIds[i]!, distance: distances[i]! };
    });
  }

  /**
   * Assigns the batches (the store's update) and issues their write now; the returned promise
   * resolves once the sinks acknowledged and the records are settled, after every earlier
   * batch's.
   */
  private assignAndWrite(
    batches: EmbeddedBatch[],
    deadLetters: DeadLetter[],
  ): { settled: Promise<void> } {
    const { metrics } = this.deps;
    const assignTimer = metrics.stageDuration.startTimer({ stage: 'assign' });
    const assigned = batches.map((batch) =>
      this.assigner.assign(this.store, batch, this.decoder.dim),
    );
    const assignments = assigned.flatMap((a) => a.assignments);
    const events = assigned.flatMap((a) => a.report.events);
    metrics.storeVersion.set(this.store.version);
    metrics.clusters.set(this.store.ready ? this.store.clusterCount : 0);
    assignTimer();
    if (assignments.length === 0 && deadLetters.length === 0) return { settled: Promise.resolve() };
    const sinkTimer = metrics.stageDuration.startTimer({ stage: 'sink' });
    let offsets: ReturnType<Watermarks['offsets']> | undefined;
    if (this.watermarks !== undefined) {
      // These outputs and the offsets they complete commit in one transaction.
      this.watermarks.settled(assignments.map((a) => a.record));
      this.watermarks.settled(deadLetters.map((d) => d.record));
      offsets = this.watermarks.offsets();
    }
    const written = this.during('the sink write', () =>
      this.writer.write({
        assignments,
        deadLetters,
        events,
        ...(offsets === undefined ? {} : { offsets }),
      }),
    );
    // Awaited in turn below; marked handled now, as it may fail before its turn comes.
    written.catch(() => undefined);
    const settled = this.settling.run(async () => {
      try {
        await written;
      } catch (error) {
        this.writeFailure ??= error;
      }
      if (this.writeFailure !== undefined) throw this.writeFailure;
      sinkTimer();
      this.settle(assigned, assignments, deadLetters);
    });
    return { settled };
  }

  private settle(
    assigned: ReturnType<BatchAssigner['assign']>[],
    assignments: Assignment[],
    deadLetters: DeadLetter[],
  ): void {
    const { metrics } = this.deps;
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

  /** Writes a checkpoint now, if checkpoints are on and the state is whole (no warm-up wait). */
  private async checkpoint(why: 'schedule' | 'shutdown'): Promise<void> {
    if (!this.checkpointer.enabled || !this.store.ready) return;
    if (this.learner.hasNetwork && this.trainer === undefined) return;
    if (this.warmup.rows > 0) return;
    // Offsets, model, store and memory are written as one state: every write acknowledged, no
    // background step running in between.
    await this.settling.idle();
    // After a failed write the store holds batches whose records will be read again.
    if (this.writeFailure !== undefined) return;
    await this.learner.settle();
    const timer = this.deps.metrics.stageDuration.startTimer({ stage: 'checkpoint' });
    // Without a network (model.kind: none) the model part is empty: the store is the state.
    const model =
      this.trainer === undefined
        ? { version: 0, variables: pack([]), optimizer: pack([]) }
        : await this.trainer.getState();
    const memory = this.learner.memorySnapshot;
    const path = await this.checkpointer.write(this.deps.config, {
      batches: this.counts.batches,
      records: this.counts.assigned + this.counts.invalid,
      inputDim: this.decoder.dim,
      model: modelStateToJson(model),
      store: this.store.snapshot(),
      ...(memory === undefined ? {} : { memory }),
      decoder: this.decoder.statistics(),
    });
    timer();
    this.deps.logger[why === 'shutdown' ? 'info' : 'debug']('checkpoint written', {
      path,
      modelVersion: model.version,
      storeVersion: this.store.version,
    });
  }
}
