/**
 * The online learner: everything the pipeline does to train the embedding network, apart from
 * the worker threads that do the arithmetic.
 *
 * - Replay memory (model/replay-memory.ts): every assigned batch is remembered, and each record
 *   of a training batch buys `training.replayRatio` anchor draws; whenever `training.anchors`
 *   draws are bought, one optimiser step runs on `training.poolSize` rows drawn from the memory,
 *   of which the first `anchors` are the anchors. The cost per record is fixed whatever the
 *   batch size (small batches on a slow stream carry their budget over), the number of steps is
 *   no longer one per arriving batch (which gave about 35 Adam steps over five passes of
 *   digits), and `training.mode: fraction` still caps the cost under load by choosing which
 *   batches train.
 * - Pretraining: when the warm-up sample is complete, and before the store is seeded on it, the
 *   network trains on those records for `training.pretrain.epochs` epochs (an epoch: as many
 *   steps as the sample has anchors' worth of rows), stopping early after `maxSeconds`, with
 *   progress in the log. The store then starts from the pretrained embedding instead of a
 *   random one.
 * - Schedule (training.schedule): `inline` spends a batch's budget before the next batch is
 *   processed (a seeded run is reproducible: evaluate and replay use it); `background` (the
 *   default for `run`) spends it in a loop beside the stream, so that a batch never waits for
 *   the steps its records bought; it is embedded on a replica of its own that follows every
 *   update (TrainerPool's embedder), so not even for a step in progress. When that loop falls
 *   behind, the draws owed beyond one batch's worth are dropped and counted: under load the
 *   network trains less per record instead of slowing the stream.
 * - The store follows the network: after every `training.realign.everySteps` steps, a memory
 *   sample of `training.realign.sample` rows is embedded with the new weights and every
 *   centroid moves to the mean of its members (OnlineKMeans.realign), so assignments and
 *   pseudo-labels are never computed against centroids of an older embedding. Ids, weights and
 *   lifecycle state stay.
 *
 * With `model.kind: none` there is no network: the store clusters the scaled input itself (the
 * baseline every benchmark prints), and nothing here runs. Positives from a record field or key
 * are not in the memory, so with those sources the batch processor trains on the arriving batch
 * instead, inside the step that embeds it (one step per batch).
 */
import type { Config } from '../config/schema.js';
import type { OnlineKMeans } from '../cluster/online-k-means.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { ReplayMemory, type ReplayMemorySnapshot } from '../model/replay-memory.js';
import type { BatchStepResult, BatchStepTask, TrainerPool } from '../model/trainer-pool.js';

export interface LearnerDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
}

/** What a training step needs from the store (k-means, soft and deep clustering, pseudo-labels). */
export interface StoreInputs {
  centroids: Float32Array;
  clusters: number;
  centroidIds: Int32Array;
  clusterSizes: Float32Array;
}

export class OnlineLearner {
  private readonly deps: LearnerDeps;
  private memory: ReplayMemory | undefined;
  private steps: number;
  private draws = 0;
  /** Anchor draws bought by arriving records and not yet spent on a step. */
  private budget = 0;
  private stepsSinceRealign = 0;
  private lastLossValue: number | undefined;
  private version = 0;
  /** The background training loop while it runs (training.schedule: background). */
  private loop: Promise<void> | undefined;
  /** Seeds of background steps (inline steps are seeded by their batch). */
  private backgroundSeed = 0;
  /** Set by `stop`: the background loop ends after its current step. */
  private stopped = false;
  /** The error that ended the background loop, thrown to the next caller. */
  private failure: unknown;
  /**
   * Set on the instances of a consumer group that embed with their leader's weights
   * (sync.enabled): only the leader trains, so there is one network.
   */
  paused = false;

  constructor(deps: LearnerDeps, resume?: { steps: number; memory?: ReplayMemorySnapshot }) {
    this.deps = deps;
    this.steps = resume?.steps ?? 0;
    if (resume?.memory !== undefined) this.memory = ReplayMemory.restore(resume.memory);
    const { model, training } = deps.config;
    if (model.kind === 'mlp' && training.mode === 'off' && resume === undefined) {
      // Measured on digits: an untrained network loses structure the input has (NMI 0.62
      // against 0.67 for k-means on the scaled input).
      deps.logger.warn(
        'training.mode is off: the store clusters the output of an untrained network; set model.kind: none to cluster the scaled input instead',
      );
    }
  }

  /** Whether there is a network at all (`model.kind: mlp`). */
  get hasNetwork(): boolean {
    return this.deps.config.model.kind === 'mlp';
  }

  /** Training from the replay memory (every positives source but a record field or key). */
  get replays(): boolean {
    return trainsFromMemory(this.deps.config);
  }

  get trainingSteps(): number {
    return this.steps;
  }

  get lastLoss(): number | undefined {
    return this.lastLossValue;
  }

  /** The model version of the last step the learner saw (pretraining included). */
  get modelVersion(): number {
    return this.version;
  }

  get memorySnapshot(): ReplayMemorySnapshot | undefined {
    return this.memory?.snapshot();
  }

  /** The phase of the next step: reconstruction alone for the first training.warmupBatches. */
  phase(): 'warmup' | 'full' {
    return this.steps < this.deps.config.training.warmupBatches ? 'warmup' : 'full';
  }

  /** Whether this batch trains (training.mode; `fraction` draws a low-discrepancy sequence). */
  shouldTrain(): boolean {
    const { training } = this.deps.config;
    if (!this.hasNetwork || training.mode === 'off' || this.paused) return false;
    if (training.mode === 'every') return true;
    // Exactly round(n × fraction) of the first n batches train.
    this.draws += 1;
    return (
      Math.floor(this.draws * training.fraction) > Math.floor((this.draws - 1) * training.fraction)
    );
  }

  /** Remembers rows × dim features (standardised, as the network sees them). */
  remember(features: Float32Array, dim: number): void {
    if (!this.replays) return;
    const { training, model } = this.deps.config;
    this.memory ??= new ReplayMemory(dim, training.memory.size, training.memory.policy, model.seed);
    this.memory.add(features);
  }

  /** Records a step's outcome in the metrics; counts it when it trained. */
  observe(result: BatchStepResult): void {
    const { metrics } = this.deps;
    metrics.modelVersion.set(result.modelVersion);
    this.version = result.modelVersion;
    metrics.workerTensors.set(result.numTensors);
    if (!result.trained) return;
    this.steps += 1;
    metrics.trainingSteps.inc();
    for (const [part, value] of Object.entries(result.losses)) metrics.loss.set({ part }, value);
    this.lastLossValue = result.total;
    if (result.total !== undefined) metrics.loss.set({ part: 'total' }, result.total);
    if (result.mining !== undefined) {
      metrics.miningTriplets.set({ state: 'found' }, result.mining.found);
      metrics.miningTriplets.set({ state: 'active' }, result.mining.active);
      metrics.miningDroppedRatio.set(result.mining.droppedFraction);
    }
  }

  /** Whether arriving records' steps run beside the stream (training.schedule: background). */
  get inBackground(): boolean {
    return this.deps.config.training.schedule === 'background';
  }

  /**
   * Background schedule: adds the draws `rows` arriving records buy and makes sure the loop
   * that spends them runs; returns at once. Draws owed beyond one batch's worth (or one step)
   * are dropped and counted. Throws the error that ended an earlier loop.
   */
  trainBehind(trainer: TrainerPool, store: OnlineKMeans, rows: number): void {
    this.throwIfFailed();
    const { replayRatio, anchors } = this.deps.config.training;
    const cap = Math.max(anchors, replayRatio * this.deps.config.batch.size);
    this.budget += replayRatio * rows;
    if (this.budget > cap) {
      const dropped = Math.floor((this.budget - cap) / anchors);
      if (dropped > 0) this.deps.metrics.trainingStepsSkipped.inc(dropped);
      this.budget = cap;
    }
    if (this.loop !== undefined || this.stopped) return;
    this.loop = this.spendBudget(trainer, store)
      .catch((error: unknown) => {
        this.failure = error;
      })
      .finally(() => {
        this.loop = undefined;
      });
  }

  /** Waits for the background loop to finish what it owes (checkpoints, end of stream). */
  async settle(): Promise<void> {
    while (this.loop !== undefined) await this.loop;
    this.throwIfFailed();
  }

  /** Ends the background loop after its current step; what was still owed is not trained. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.budget = 0;
    while (this.loop !== undefined) await this.loop;
  }

  /** Throws the error that ended the background loop, once. */
  throwIfFailed(): void {
    if (this.failure === undefined) return;
    const error = this.failure;
    this.failure = undefined;
    throw error;
  }

  private async spendBudget(trainer: TrainerPool, store: OnlineKMeans): Promise<void> {
    const { anchors } = this.deps.config.training;
    while (!this.stopped && this.budget >= anchors) {
      this.budget -= anchors;
      const last = await this.trainFromMemory(trainer, store, 2_000_000 + this.backgroundSeed++, 1);
      if (last === undefined) return;
      if (last.trained) this.stepsSinceRealign += 1;
      await this.realignIfDue(trainer, store);
    }
  }

  /**
   * The replay steps `rows` arriving records buy (training.replayRatio anchor draws each), then,
   * every training.realign.everySteps steps, the store brought up to date with the new weights.
   * Returns the last step's result, undefined when no step ran.
   */
  async trainOnArrival(
    trainer: TrainerPool,
    store: OnlineKMeans,
    rows: number,
    seed: number,
  ): Promise<BatchStepResult | undefined> {
    const { replayRatio, anchors } = this.deps.config.training;
    this.budget += replayRatio * rows;
    const steps = Math.floor(this.budget / anchors);
    this.budget -= steps * anchors;
    const last = await this.trainFromMemory(trainer, store, seed, steps);
    if (last?.trained === true) this.stepsSinceRealign += steps;
    await this.realignIfDue(trainer, store);
    return last;
  }

  /** Brings the store up to date with the weights every training.realign.everySteps steps. */
  private async realignIfDue(trainer: TrainerPool, store: OnlineKMeans): Promise<void> {
    if (!store.ready || this.stepsSinceRealign < this.deps.config.training.realign.everySteps)
      return;
    this.stepsSinceRealign = 0;
    const timer = this.deps.metrics.stageDuration.startTimer({ stage: 'realign' });
    await this.realign(trainer, store);
    timer();
  }

  /** `steps` optimiser steps on replay samples; the last one's result. */
  private async trainFromMemory(
    trainer: TrainerPool,
    store: OnlineKMeans | undefined,
    seed: number,
    steps: number,
  ): Promise<BatchStepResult | undefined> {
    const memory = this.memory;
    if (!this.replays || memory === undefined || memory.size < 2 || steps === 0) return undefined;
    const { training } = this.deps.config;
    let last: BatchStepResult | undefined;
    const timer = this.deps.metrics.stageDuration.startTimer({ stage: 'train' });
    for (let i = 0; i < steps; i++) {
      const pool = memory.sample(training.poolSize);
      const rows = pool.length / memory.dim;
      const task: BatchStepTask = {
        features: pool,
        rows,
        train: true,
        phase: this.phase(),
        seed: seed * 1000 + i,
        anchors: Math.min(training.anchors, rows),
        ...(store?.ready === true ? storeInputs(store) : {}),
      };
      last = await trainer.step(task);
      this.observe(last);
    }
    timer();
    return last;
  }

  /**
   * Trains on the warm-up sample before the store is seeded, for training.pretrain.epochs
   * epochs or training.pretrain.maxSeconds, whichever ends first.
   */
  async pretrain(trainer: TrainerPool): Promise<void> {
    const { training } = this.deps.config;
    const memory = this.memory;
    if (!this.replays || memory === undefined || memory.size < 2) return;
    const { epochs, maxSeconds } = training.pretrain;
    const stepsPerEpoch = Math.max(1, Math.ceil(memory.size / training.anchors));
    const planned = epochs * stepsPerEpoch;
    if (planned === 0) return;
    const started = performance.now();
    let lastLog = started;
    let done = 0;
    let why = 'epochs done';
    this.deps.logger.info('pretraining the embedding on the warm-up sample', {
      records: memory.size,
      epochs,
      steps: planned,
      maxSeconds,
    });
    while (done < planned) {
      const elapsed = (performance.now() - started) / 1000;
      if (maxSeconds > 0 && elapsed >= maxSeconds) {
        why = 'training.pretrain.maxSeconds reached';
        break;
      }
      await this.trainFromMemory(trainer, undefined, 1_000_000 + done, 1);
      done += 1;
      if (performance.now() - lastLog > 5_000) {
        lastLog = performance.now();
        this.deps.logger.info('pretraining', {
          epoch: Math.floor(done / stepsPerEpoch),
          of: epochs,
          loss: this.lastLossValue === undefined ? null : Number(this.lastLossValue.toFixed(4)),
        });
      }
    }
    this.deps.logger.info('pretraining done', {
      steps: done,
      epochs: Number((done / stepsPerEpoch).toFixed(1)),
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      loss: this.lastLossValue === undefined ? null : Number(this.lastLossValue.toFixed(4)),
      why,
    });
  }

  /**
   * Moves the store's centroids to their members in a memory sample embedded with the current
   * weights.
   */
  private async realign(trainer: TrainerPool, store: OnlineKMeans): Promise<void> {
    const { sample, iterations } = this.deps.config.training.realign;
    const memory = this.memory;
    if (sample === 0 || memory === undefined) return;
    const features = memory.sample(sample);
    const rows = features.length / memory.dim;
    const result = await trainer.step({ features, rows, train: false, phase: 'full', seed: 0 });
    store.realign(result.embeddings, iterations);
  }
}

/** Training from the replay memory (every positives source but a record field or key). */
export function trainsFromMemory(config: Config): boolean {
  const source = config.losses.positives.source;
  return (
    config.model.kind === 'mlp' &&
    config.training.mode !== 'off' &&
    config.training.replayRatio > 0 &&
    source !== 'field' &&
    source !== 'key'
  );
}

/**
 * Whether batches are embedded on a replica of their own (TrainerPoolOptions.embedder): when
 * training runs beside the stream, so that an embedding never waits for a step in progress.
 */
export function embedsApart(config: Config): boolean {
  return trainsFromMemory(config) && config.training.schedule === 'background';
}

export function storeInputs(store: OnlineKMeans): StoreInputs {
  const c = store.centroids();
  return {
    centroids: c.data,
    clusters: c.ids.length,
    centroidIds: c.ids,
    clusterSizes: Float32Array.from(c.weights),
  };
}
