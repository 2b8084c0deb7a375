/**
 * The second half of a batch's first stage: its valid rows embedded by the trainer pool's
 * embedder with the current weights (started by the first batch or POST /assign, once the input
 * dimension is known; from the group leader's weights when they came first), or passed through as they are with `model.kind: none`. Where positives come from a
 * record field or key, the step that embeds a batch also trains on it (those positives are not
 * in the replay memory). Counts worker restarts and remembers the last model version seen.
 */
import type { Config } from '../config/schema.js';
import type { OnlineKMeans } from '../cluster/online-k-means.js';
import { resolveLabels } from '../losses/positives.js';
import type { Metrics } from '../metrics/metrics.js';
import { modelStateFromJson, type ModelState } from '../model/model-state.js';
import type { TrainerPool } from '../model/trainer-pool.js';
import type { CheckpointFile } from '../state/checkpoint.js';
import type { DecodedBatch } from './decode-stage.js';
import { storeInputs, type OnlineLearner } from './online-learner.js';
import type { EmbeddedBatch } from './warm-up.js';

export interface EmbeddingStageDeps {
  config: Config;
  metrics: Metrics;
  learner: OnlineLearner;
  /** Starts the trainer once the input dimension is known (from config or the first record). */
  startTrainer: (inputDim: number, state?: ModelState) => Promise<TrainerPool>;
  resume?: CheckpointFile | undefined;
  /** Notes what the batch waits on meanwhile (BatchProcessor.during). */
  during: <T>(stage: string, work: () => Promise<T>) => Promise<T>;
}

export class EmbeddingStage {
  /** The trainer pool, from the first batch with a network on. */
  trainer: TrainerPool | undefined;
  /** The model version of the last embedding (the checkpoint's until then). */
  modelVersion: number;
  private restartsCounted = 0;
  private starting: Promise<TrainerPool> | undefined;
  /** Weights to start the trainer from, taken before it started (a group's shared state). */
  private initialModel: ModelState | undefined;

  constructor(private readonly deps: EmbeddingStageDeps) {
    this.modelVersion = deps.resume?.model.version ?? 0;
  }

  /** Embeds a decoded batch; `batch` seeds the step, `store` is the one in-step training reads. */
  async embed(
    decoded: DecodedBatch,
    dim: number,
    store: OnlineKMeans,
    batch: number,
  ): Promise<EmbeddedBatch> {
    const { learner, metrics } = this.deps;
    const { features } = decoded;
    const base = { records: decoded.valid, labels: decoded.labels, features };
    if (!learner.hasNetwork)
      return { ...base, losses: {}, embeddings: features.slice(), modelVersion: 0 };
    const trainer = await this.trainerFor(dim);
    // Positives from a record field or key are not in the replay memory: those sources train
    // on the arriving batch itself, inside the step that embeds it.
    const train = !learner.replays && store.ready && learner.shouldTrain();
    const timer = metrics.stageDuration.startTimer({ stage: 'worker' });
    const result = await this.deps.during('the trainer worker', () =>
      trainer.step({
        // The pool sends a copy: `features` stays ours for the drift statistics.
        features,
        rows: decoded.valid.length,
        train,
        phase: learner.phase(),
        seed: batch,
        ...(train ? { ...storeInputs(store), ...this.labels(decoded) } : {}),
      }),
    );
    timer();
    const restarted = trainer.restarts - this.restartsCounted;
    if (restarted > 0) metrics.workerRestarts.inc(restarted);
    this.restartsCounted = trainer.restarts;
    this.modelVersion = result.modelVersion;
    learner.observe(result);
    return {
      ...base,
      losses: result.trained
        ? { ...result.losses, ...(result.total === undefined ? {} : { total: result.total }) }
        : {},
      embeddings: result.embeddings,
      modelVersion: result.modelVersion,
    };
  }

  /** The trainer pool, started now if no batch started it yet. */
  private trainerFor(dim: number): Promise<TrainerPool> {
    // One start, however many callers: a batch and a POST /assign may both arrive before it ends.
    const resume = this.deps.resume;
    this.starting ??= this.deps
      .startTrainer(
        dim,
        this.initialModel ?? (resume === undefined ? undefined : modelStateFromJson(resume.model)),
      )
      .then((pool) => (this.trainer = pool));
    return this.starting;
  }

  /** Weights taken from the group before the trainer started (`setModel`), if any. */
  get adoptedModel(): ModelState | undefined {
    return this.initialModel;
  }

  /** From now on, embed with `state` (the group leader's weights, sync.enabled). */
  async setModel(state: ModelState): Promise<void> {
    if (this.starting === undefined) this.initialModel = state;
    else await (await this.starting).setState(state);
    this.modelVersion = state.version;
  }

  /** Embeds rows with the current model, without training (the waiting records at start). */
  async embedOnly(
    features: Float32Array,
    rows: number,
    batch: number,
  ): Promise<{ embeddings: Float32Array; modelVersion: number }> {
    if (!this.deps.learner.hasNetwork) return { embeddings: features.slice(), modelVersion: 0 };
    const trainer = await this.trainerFor(rows === 0 ? 0 : features.length / rows);
    const timer = this.deps.metrics.stageDuration.startTimer({ stage: 'worker' });
    const result = await trainer.step({
      features,
      rows,
      train: false,
      phase: 'full',
      seed: batch,
    });
    timer();
    return { embeddings: result.embeddings, modelVersion: result.modelVersion };
  }

  /** A batch embedded again with the current weights (it waited while the network pretrained). */
  async again(batch: EmbeddedBatch, seed: number): Promise<EmbeddedBatch> {
    return { ...batch, ...(await this.embedOnly(batch.features, batch.records.length, seed)) };
  }

  /** Miner labels from a record field or the record key (losses.positives.source). */
  private labels(decoded: DecodedBatch): { labels?: Int32Array } {
    const source = this.deps.config.losses.positives.source;
    const n = decoded.valid.length;
    if (source === 'field')
      return { labels: resolveLabels('field', { n, fieldValues: decoded.captured ?? [] }) };
    if (source === 'key')
      return { labels: resolveLabels('key', { n, keys: decoded.valid.map((r) => r.key) }) };
    return {};
  }
}
