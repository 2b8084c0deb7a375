/**
 * Main-thread side of the trainer: `model.workers` replicas, each a piscina pool of one thread
 * (a replica must receive its own shard and its own `apply`, which a shared task queue cannot
 * address). Per batch: split the rows into one contiguous shard per replica, embed and compute
 * gradients on every shard at once, average the gradients weighted by shard size, and send the
 * same update to every replica (see trainer.ts for why this keeps them identical). A lone
 * replica applies its own gradients within the step: one message per training step.
 *
 * Replica 0 chooses the backend; the others are started with the backend it chose, so every
 * replica computes with the same kernels. The native addon loads in several worker threads of
 * one process (each gets its own TensorFlow eager context, whose intra-op pool TensorFlow sizes
 * to the cores unless TF_NUM_INTRAOP_THREADS says otherwise). `intraOpThreads` sets that
 * variable before the first worker starts: on 2 cores, where the main thread, the trainer, the
 * embedder and the broker already compete, one thread each drained more records/s than a pool
 * per core (`intraOpThreadsFor`, model.intraOpThreads).
 *
 * A replica that throws or whose thread dies is replaced: a fresh thread is initialised with
 * the weights of a healthy replica (or, with one replica, the last snapshot, refreshed every
 * `snapshotEveryUpdates` updates) and the batch is retried; every replacement is counted.
 * Calls run one at a time, in the order they were made (`serially`): a training step's
 * gradients and its update are never split by another call, and each replica's queue holds at
 * most one task, so the pool never buffers and a slow worker holds the source back.
 *
 * With `embedder` (training.schedule: background), one more thread holds a replica that never
 * computes gradients: every call without training (a batch's embedding, a realignment sample)
 * runs there, in its own order, so inference never waits for a training step in progress. It
 * takes every update after the training replicas have (the same `apply`, skipping only the
 * deep-clustering head, which never changes an embedding: the same encoder and decoder), and an embedding's `modelVersion` is the number of updates that replica had
 * taken when it embedded the batch: at most the steps still on their way behind the trainer.
 */
import type { Worker } from 'node:worker_threads';

import { Piscina } from 'piscina';

import type { LossesConfig } from '../losses/config.js';
import { SerialQueue } from '../serial-queue.js';
import { workerLocation } from '../worker-location.js';
import type { Logger } from '../log.js';
import type { BackendRequest } from './backend.js';
import { cloneModelState, pack, type ModelState, type PackedTensors } from './model-state.js';
import type {
  ApplyResult,
  GetStateResult,
  HeapResult,
  InitResult,
  InitTask,
  ModelSpec,
  StepMiningStats,
  StepResult,
  StepTask,
} from './protocol.js';

export interface TrainerPoolOptions {
  backend: BackendRequest;
  model: ModelSpec;
  losses: LossesConfig;
  /** Replicas (worker threads), each training on its shard of every batch. */
  workers: number;
  /** Start every replica from this state (a checkpoint) instead of the seeded initialisation. */
  state?: ModelState;
  snapshotEveryUpdates?: number;
  /** Replacements of one batch's replicas before the step fails for good. */
  maxRetries?: number;
  /** Embed on a replica of its own that only follows the updates (see above). */
  embedder?: boolean;
  /** TensorFlow's intra-op threads per replica; 0 or absent: TensorFlow's default (see above). */
  intraOpThreads?: number;
  /**
   * With one training replica, a step applies its own gradients (one message per step; the
   * default). `false` sends the separate `apply` as with several replicas: the same update,
   * kept to compare the two.
   */
  applyInStep?: boolean;
  logger?: Logger;
}

export type BatchStepTask = Omit<StepTask, 'kind'>;

export interface BatchStepResult {
  embeddings: Float32Array;
  trained: boolean;
  losses: Record<string, number>;
  total?: number;
  mining?: StepMiningStats;
  modelVersion: number;
  /** Slowest replica's worker-side milliseconds (embed + gradients + apply). */
  workerMs: number;
  numTensors: number;
  /** Largest worker heap after the step, in bytes. */
  heapUsedBytes: number;
}

interface Replica {
  pool: Piscina;
}

/** The inference-only replica, its own call order, and the updates it has taken. */
interface Embedder {
  replica: Replica;
  calls: SerialQueue;
  version: number;
  /** An update failed there: it is rebuilt from a training replica before its next call. */
  broken: boolean;
}

function newReplica(): Replica {
  const { filename, execArgv } = workerLocation('trainer-worker');
  return {
    pool: new Piscina({
      filename,
      execArgv,
      minThreads: 1,
      maxThreads: 1,
      maxQueue: 'auto',
      idleTimeout: Number.POSITIVE_INFINITY,
    }),
  };
}

export class TrainerPool {
  private readonly options: TrainerPoolOptions;
  private readonly replicas: Replica[] = [];
  private initTask!: InitTask;
  private version = 0;
  private snapshot: ModelState | undefined;
  private updatesSinceSnapshot = 0;
  private closed = false;
  /** The calls to the training replicas, one at a time (see `serially`). */
  private readonly calls = new SerialQueue();
  private embedder: Embedder | undefined;
  /** Replicas replaced after a failure, since start. */
  restarts = 0;

  private constructor(options: TrainerPoolOptions) {
    this.options = options;
  }

  static async start(
    options: TrainerPoolOptions,
  ): Promise<{ pool: TrainerPool; init: InitResult }> {
    // The native library logs an INFO line about CPU instructions when it loads; keep its
    // warnings and errors. Set here, in the main thread, because TensorFlow reads the process
    // environment itself and a worker's process.env is only a copy.
    process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '1';
    // Read by TensorFlow when each worker's context starts; a value already set wins.
    if ((options.intraOpThreads ?? 0) > 0)
      process.env['TF_NUM_INTRAOP_THREADS'] ??= String(options.intraOpThreads);
    const trainer = new TrainerPool(options);
    try {
      const init = await trainer.startReplicas();
      return { pool: trainer, init };
    } catch (error) {
      await trainer.close();
      throw error;
    }
  }

  private async startReplicas(): Promise<InitResult> {
    const { backend, model, losses, state } = this.options;
    const first = newReplica();
    this.replicas.push(first);
    const base: InitTask = {
      kind: 'init',
      backend,
      model,
      losses,
      ...(state === undefined ? {} : { state }),
    };
    const init = (await first.pool.run(base)) as InitResult;
    this.version = init.modelVersion;
    // Later replicas (and replacements) use exactly the backend the first one chose.
    this.initTask = { kind: 'init', backend: init.backend.name, model, losses };
    const wanted = Math.max(1, this.options.workers);
    const initial = state ?? (wanted > 1 ? await this.readState(0) : undefined);
    for (let i = 1; i < wanted; i++) {
      const replica = newReplica();
      this.replicas.push(replica);
      await replica.pool.run({
        ...this.initTask,
        ...(initial === undefined ? {} : { state: cloneModelState(initial) }),
      });
    }
    if (this.options.embedder === true) {
      this.embedder = await this.startEmbedder(state ?? (await this.readState(0)));
    }
    return init;
  }

  private async startEmbedder(state: ModelState): Promise<Embedder> {
    const replica = newReplica();
    await replica.pool.run({ ...this.initTask, state: cloneModelState(state) });
    return { replica, calls: new SerialQueue(), version: state.version, broken: false };
  }

  get replicaCount(): number {
    return this.replicas.length;
  }

  /** Whether batches are embedded on a replica of their own (see above). */
  get hasEmbedder(): boolean {
    return this.embedder !== undefined;
  }

  get modelVersion(): number {
    return this.version;
  }

  /** The worker threads, one per replica (for operations and fault tests). */
  get threads(): Worker[] {
    return this.allReplicas.flatMap((r) => r.pool.threads);
  }

  /** The training replicas, then the embedder if there is one. */
  private get allReplicas(): Replica[] {
    return [...this.replicas, ...(this.embedder === undefined ? [] : [this.embedder.replica])];
  }

  /** Tasks the training replicas' threads have answered since they started (one per message). */
  get tasksAnswered(): number {
    return this.replicas.reduce((n, r) => n + r.pool.completed, 0);
  }

  get queueSize(): number {
    return this.replicas.reduce((n, r) => n + r.pool.queueSize, 0);
  }

  get utilization(): number {
    return (
      this.replicas.reduce((u, r) => u + r.pool.utilization, 0) / Math.max(1, this.replicas.length)
    );
  }

  /** Runs `work` once every call made before it has settled, whatever their outcome. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    return this.calls.run(work);
  }

  /**
   * Embeds a batch and, when asked, trains on it. The caller's features stay usable: each
   * attempt transfers a copy of its own (kept apart so that a failed attempt can be retried).
   */
  step(task: BatchStepTask): Promise<BatchStepResult> {
    if (!task.train && this.embedder !== undefined) return this.embedRetrying(task);
    return this.serially(() => this.stepRetrying(task));
  }

  /** Runs `work` on the embedder once its earlier calls (embeddings, updates) have settled. */
  private onEmbedder<T>(embedder: Embedder, work: (replica: Replica) => Promise<T>): Promise<T> {
    return embedder.calls.run(() => work(embedder.replica));
  }

  private async embedRetrying(task: BatchStepTask): Promise<BatchStepResult> {
    const retries = this.options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      let embedder = this.embedder as Embedder;
      if (embedder.broken) embedder = await this.replaceEmbedder(embedder);
      const features = task.features.slice();
      try {
        return await this.onEmbedder(embedder, async (replica) => {
          const version = embedder.version;
          const shard: StepTask = { ...task, kind: 'step', features };
          const r = (await replica.pool.run(shard, {
            transferList: [features.buffer as ArrayBuffer],
          })) as StepResult;
          return {
            embeddings: r.embeddings,
            trained: false,
            losses: {},
            modelVersion: version,
            workerMs: r.embedMs,
            numTensors: r.numTensors,
            heapUsedBytes: r.heapUsedBytes,
          };
        });
      } catch (error) {
        if (attempt >= retries) throw error;
        this.options.logger?.warn('the embedding worker failed; replacing it and retrying', {
          attempt: attempt + 1,
          error: String(error),
        });
        embedder.broken = true;
      }
    }
  }

  /**
   * A new embedder from a training replica's weights, taken between training calls so that no
   * update is missed; a no-op when another call already replaced `broken`.
   */
  private replaceEmbedder(broken: Embedder): Promise<Embedder> {
    return this.serially(async () => {
      if (this.embedder !== broken) return this.embedder as Embedder;
      this.restarts += 1;
      await broken.replica.pool.destroy().catch(() => undefined);
      this.embedder = await this.startEmbedder(await this.readState(0));
      return this.embedder;
    });
  }

  /** The update the training replicas took, queued behind the embedder's calls in progress. */
  private follow(gradients: PackedTensors, version: number): void {
    const embedder = this.embedder;
    if (embedder === undefined) return;
    const copy = { entries: gradients.entries, values: gradients.values.slice() };
    void this.onEmbedder(embedder, async (replica) => {
      if (embedder.broken) return;
      try {
        await replica.pool.run(
          { kind: 'apply', gradients: copy, version, follower: true },
          {
            transferList: [copy.values.buffer as ArrayBuffer],
          },
        );
        embedder.version = version;
      } catch (error) {
        // A pool being closed terminates its workers under an update in flight: nothing to say.
        if (this.closed) return;
        this.options.logger?.warn('the embedding worker failed to apply an update', {
          error: String(error),
        });
        embedder.broken = true;
      }
    });
  }

  private async stepRetrying(task: BatchStepTask): Promise<BatchStepResult> {
    const retries = this.options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.stepOnce(task, task.features.slice());
      } catch (error) {
        if (!(error instanceof ReplicaFailure) || attempt >= retries) throw unwrap(error);
        this.options.logger?.warn('a trainer worker failed; replacing it and retrying the batch', {
          replica: error.replica,
          attempt: attempt + 1,
          error: String(error.cause),
        });
        await this.replace(error.replica);
      }
    }
  }

  private async stepOnce(task: BatchStepTask, features: Float32Array): Promise<BatchStepResult> {
    const dim = task.rows === 0 ? 0 : features.length / task.rows;
    const shards = shardRows(task.rows, this.replicas.length);
    // One replica averages nothing: it applies its gradients itself, in the same message.
    const applyAs =
      task.train && this.replicas.length === 1 && this.options.applyInStep !== false
        ? this.version + 1
        : undefined;
    const results = await Promise.all(
      shards.map(([start, end], r) => {
        const shard: StepTask = {
          ...task,
          kind: 'step',
          // `features` is this attempt's own copy: one shard transfers it whole.
          features: shards.length === 1 ? features : features.slice(start * dim, end * dim),
          rows: end - start,
          ...(task.anchors === undefined
            ? {}
            : { anchors: shardAnchors(task.anchors, task.rows, start, end) }),
          ...(task.labels === undefined ? {} : { labels: task.labels.slice(start, end) }),
          ...(task.centroids === undefined ? {} : { centroids: task.centroids.slice() }),
          ...(applyAs === undefined ? {} : { applyAs }),
        };
        const transferList: ArrayBuffer[] = [shard.features.buffer as ArrayBuffer];
        if (shard.centroids !== undefined) transferList.push(shard.centroids.buffer as ArrayBuffer);
        return this.run<StepResult>(r, shard, transferList);
      }),
    );
    const embeddings = concat(results.map((r) => r.embeddings));
    const trained = results.every((r) => r.gradients !== undefined) && results.length > 0;
    const workerMs = Math.max(...results.map((r) => r.embedMs + r.trainMs));
    if (!trained) {
      return {
        embeddings,
        trained: false,
        losses: {},
        modelVersion: this.version,
        workerMs,
        numTensors: maxTensors(results),
        heapUsedBytes: maxHeap(results),
      };
    }
    const weights = shards.map(([start, end]) => (end - start) / task.rows);
    const applyStarted = performance.now();
    // With `applyAs` the step's own tensor count is already the one after its update.
    const applied =
      applyAs === undefined
        ? await this.applyAll(
            average(
              results.map((r) => r.gradients as PackedTensors),
              weights,
            ),
          )
        : await this.appliedInStep(results[0] as StepResult, applyAs).then(() => []);
    return {
      embeddings,
      trained: true,
      losses: weightedRecord(
        results.map((r) => r.losses),
        weights,
      ),
      total: results.reduce((t, r, i) => t + (r.total ?? 0) * (weights[i] as number), 0),
      ...mergeMining(results),
      modelVersion: this.version,
      workerMs: workerMs + (performance.now() - applyStarted),
      numTensors: Math.max(maxTensors(results), ...applied.map((a) => a.numTensors)),
      heapUsedBytes: maxHeap(results),
    };
  }

  private async applyAll(gradients: PackedTensors): Promise<ApplyResult[]> {
    const version = this.version + 1;
    const settled = await Promise.allSettled(
      this.replicas.map((_, r) => {
        const copy = { entries: gradients.entries, values: gradients.values.slice() };
        return this.run<ApplyResult>(r, { kind: 'apply', gradients: copy, version }, [
          copy.values.buffer as ArrayBuffer,
        ]);
      }),
    );
    const applied = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (applied.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
    this.advance(gradients, version);
    // A replica that failed to apply is rebuilt from one that did: all end at `version`.
    for (const [r, s] of settled.entries()) {
      if (s.status === 'rejected') {
        this.options.logger?.warn('a trainer worker failed to apply an update; replacing it', {
          replica: r,
        });
        await this.replace(r);
      }
    }
    await this.maybeSnapshot();
    return applied;
  }

  /** The lone replica's step applied its own gradients (`applyAs`): the pool follows it. */
  private async appliedInStep(result: StepResult, version: number): Promise<void> {
    if (result.modelVersion !== version) {
      throw new Error(
        `the trainer replica answered at version ${result.modelVersion}, expected ${version}`,
      );
    }
    this.advance(result.gradients as PackedTensors, version);
    await this.maybeSnapshot();
  }

  /** Every training replica took the update to `version`; the embedder takes it next. */
  private advance(gradients: PackedTensors, version: number): void {
    this.version = version;
    this.follow(gradients, version);
  }

  private async maybeSnapshot(): Promise<void> {
    this.updatesSinceSnapshot += 1;
    if (
      this.replicas.length > 1 ||
      this.updatesSinceSnapshot < (this.options.snapshotEveryUpdates ?? 25)
    )
      return;
    this.snapshot = await this.readState(0);
    this.updatesSinceSnapshot = 0;
  }

  /** The current weights and optimiser state (every replica holds the same). */
  getState(): Promise<ModelState> {
    return this.serially(() => this.readState(0));
  }

  /**
   * Every replica (and the embedder) takes `state`: a consumer group's instances embed with
   * their leader's weights (sync.enabled). Taken between calls, so no step sees half of it.
   */
  setState(state: ModelState): Promise<void> {
    return this.serially(async () => {
      await Promise.all(
        this.replicas.map((_, i) =>
          this.run(i, { kind: 'set-state', state: cloneModelState(state) }, []),
        ),
      );
      this.version = state.version;
      this.snapshot = undefined;
      const embedder = this.embedder;
      if (embedder !== undefined) {
        await this.onEmbedder(embedder, async (replica) => {
          await replica.pool.run({ kind: 'set-state', state: cloneModelState(state) });
          embedder.version = state.version;
        });
      }
    });
  }

  /** One replica's weights and optimiser state (to check that replicas agree). */
  replicaState(replica: number): Promise<ModelState> {
    return this.serially(() => this.readState(replica));
  }

  /** The embedder's weights and optimiser state, once the updates sent to it are taken. */
  embedderState(): Promise<ModelState> {
    const embedder = this.embedder;
    if (embedder === undefined) return Promise.reject(new Error('this pool has no embedder'));
    return this.serially(() =>
      this.onEmbedder(embedder, async (replica) => {
        const result = (await replica.pool.run({ kind: 'get-state' })) as GetStateResult;
        return result.state;
      }),
    );
  }

  private async readState(replica: number): Promise<ModelState> {
    const result = await this.run<GetStateResult>(replica, { kind: 'get-state' }, []);
    return result.state;
  }

  /**
   * Each replica's heap after a full garbage collection, in bytes: a leak shows as growth here,
   * while the heap after a step also swings with garbage not yet collected.
   */
  heapAfterGc(): Promise<number[]> {
    return this.serially(async () => {
      const results = await Promise.all(
        this.replicas.map((_, i) => this.run<HeapResult>(i, { kind: 'heap' }, [])),
      );
      const embedder = this.embedder;
      if (embedder !== undefined) {
        results.push(
          await this.onEmbedder(
            embedder,
            async (replica) => (await replica.pool.run({ kind: 'heap' })) as HeapResult,
          ),
        );
      }
      return results.map((r) => r.heapUsedBytes);
    });
  }

  private async run<T>(replica: number, task: object, transferList: ArrayBuffer[]): Promise<T> {
    const target = this.replicas[replica] as Replica;
    try {
      return (await target.pool.run(task, { transferList })) as T;
    } catch (error) {
      throw new ReplicaFailure(replica, error);
    }
  }

  private async replace(index: number): Promise<void> {
    const old = this.replicas[index] as Replica;
    this.restarts += 1;
    await old.pool.destroy().catch(() => undefined);
    const healthy = this.replicas.findIndex((_, i) => i !== index);
    const state =
      healthy >= 0
        ? await this.run<GetStateResult>(healthy, { kind: 'get-state' }, []).then((r) => r.state)
        : this.snapshot;
    const replica = newReplica();
    this.replicas[index] = replica;
    await replica.pool.run({
      ...this.initTask,
      ...(state === undefined ? {} : { state: cloneModelState(state) }),
    });
    if (healthy < 0) this.version = state?.version ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.allReplicas.map((r) => r.pool.destroy()));
  }
}

/**
 * model.intraOpThreads resolved for this machine: `auto` leaves two cores to the main thread and
 * the broker and shares the rest among the model's threads (replicas, plus the embedder), at
 * least one each; a number is taken as it is (0: TensorFlow's default, one per core).
 */
export function intraOpThreadsFor(
  setting: 'auto' | number,
  cores: number,
  modelThreads: number,
): number {
  if (setting !== 'auto') return setting;
  return Math.max(1, Math.floor((cores - 2) / Math.max(1, modelThreads)));
}

class ReplicaFailure extends Error {
  constructor(
    readonly replica: number,
    cause: unknown,
  ) {
    super(`trainer replica ${replica} failed: ${String(cause)}`, { cause });
  }
}

function unwrap(error: unknown): unknown {
  return error instanceof ReplicaFailure ? error.cause : error;
}

/**
 * A replay step's anchors in one shard: the shard's share of them, at least one. Each replica
 * draws its anchors' neighbours from its own shard of the pool, so with several replicas the
 * positives come from a smaller pool than with one (the objective differs slightly; the pool
 * is a uniform sample either way).
 */
export function shardAnchors(anchors: number, rows: number, start: number, end: number): number {
  return Math.max(1, Math.min(end - start, Math.round((anchors * (end - start)) / rows)));
}

/** Contiguous [start, end) row ranges, one per replica, sizes differing by at most one. */
export function shardRows(rows: number, replicas: number): [number, number][] {
  const count = Math.max(1, Math.min(replicas, rows));
  const shards: [number, number][] = [];
  for (let r = 0; r < count; r++) {
    shards.push([Math.floor((r * rows) / count), Math.floor(((r + 1) * rows) / count)]);
  }
  return shards;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Σ weights[r] · gradients[r], entry by entry (the entries are the same on every replica). */
export function average(gradients: PackedTensors[], weights: number[]): PackedTensors {
  const first = gradients[0] as PackedTensors;
  const values = new Float32Array(first.values.length);
  gradients.forEach((g, r) => {
    const w = weights[r] as number;
    for (let i = 0; i < values.length; i++)
      values[i] = (values[i] as number) + w * (g.values[i] as number);
  });
  return pack(
    first.entries.map((e) => ({
      name: e.name,
      shape: e.shape,
      values: values.subarray(e.offset, e.offset + e.length),
    })),
  );
}

function weightedRecord(
  records: Record<string, number>[],
  weights: number[],
): Record<string, number> {
  const out: Record<string, number> = {};
  records.forEach((rec, r) => {
    for (const [k, v] of Object.entries(rec)) out[k] = (out[k] ?? 0) + v * (weights[r] as number);
  });
  return out;
}

function mergeMining(results: StepResult[]): { mining?: StepMiningStats } {
  const withMining = results
    .filter((r) => r.mining !== undefined)
    .map((r) => r.mining as StepMiningStats);
  if (withMining.length === 0) return {};
  return {
    mining: {
      found: withMining.reduce((n, m) => n + m.found, 0),
      active: withMining.reduce((n, m) => n + m.active, 0),
      droppedFraction: withMining.reduce((n, m) => n + m.droppedFraction, 0) / withMining.length,
    },
  };
}

function maxHeap(results: StepResult[]): number {
  return Math.max(0, ...results.map((r) => r.heapUsedBytes));
}

function maxTensors(results: StepResult[]): number {
  return Math.max(0, ...results.map((r) => r.numTensors));
}
