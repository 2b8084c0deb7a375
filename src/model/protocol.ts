/**
 * The one typed protocol between the main thread and the trainer workers (piscina). Arrays
 * travel as Float32Array whose buffers are transferred (`Piscina.move` / `transferList`), not
 * sent as JSON: a batch of 1,024 × 64 floats is 256 KiB per direction per batch. (The pool does
 * keep a copy of what it sends when it may have to send it again after a worker failure.)
 *
 * With several replicas a training step is two messages per replica: `step` embeds the
 * replica's shard with the current weights and returns the shard's gradients; the main thread
 * averages them and sends the same `apply` to every replica, so all replicas take the same
 * update at the same version. With one replica the average is its own gradients, so the step
 * applies them itself (`applyAs`): one message per step. The embedding replica
 * (training.schedule: background) gets the update as an `apply`, as a `follower`.
 */
import type { LossesConfig } from '../losses/config.js';
import type { BackendChoice, BackendRequest } from './backend.js';
import type { ModelState, PackedTensors } from './model-state.js';

export interface ModelSpec {
  inputDim: number;
  hiddenLayers: readonly number[];
  embeddingDim: number;
  activation: 'relu' | 'elu' | 'tanh' | 'selu';
  learningRate: number;
  gradientClipNorm: number;
  optimizer: 'adam' | 'sgd';
  seed: number;
}

export interface InitTask {
  kind: 'init';
  backend: BackendRequest;
  model: ModelSpec;
  losses: LossesConfig;
  /** Start from this state (a checkpoint, or a healthy replica's weights) instead of the seed. */
  state?: ModelState;
}

export interface InitResult {
  kind: 'init';
  backend: BackendChoice;
  modelVersion: number;
  parameterCount: number;
}

/** `warmup`: reconstruction only; `full`: every configured loss. */
export type TrainingPhase = 'warmup' | 'full';

export interface StepTask {
  kind: 'step';
  /** n × inputDim, row-major: this replica's shard of the batch. */
  features: Float32Array;
  rows: number;
  /** Compute gradients on this shard (after embedding it with the current weights). */
  train: boolean;
  phase: TrainingPhase;
  /** k × embeddingDim centroids of the store; absent while it warms up. */
  centroids?: Float32Array;
  clusters?: number;
  /** The store's id of each centroid row (the deep-clustering head follows them). */
  centroidIds?: Int32Array;
  /** The store's weight of each centroid row (class balance of deep clustering). */
  clusterSizes?: Float32Array;
  /** Miner labels resolved in the main thread (positives from a record field or the key). */
  labels?: Int32Array;
  /** Varies the losses' sampling and the augmented views from batch to batch. */
  seed: number;
  /**
   * A training step on a replay sample rather than an arriving batch: the first `anchors` rows
   * are the anchors, all rows the pool their neighbour positives come from. The step returns
   * no embeddings (nobody assigns these rows).
   */
  anchors?: number;
  /**
   * Apply this step's own gradients before answering, reaching this version (the replica must
   * be at version − 1). Sent when one replica trains: the average of one shard is its own
   * gradients, so the separate `apply` message would carry them back unchanged.
   */
  applyAs?: number;
}

export interface StepMiningStats {
  found: number;
  active: number;
  droppedFraction: number;
}

export interface StepResult {
  kind: 'step';
  /**
   * n × embeddingDim, L2-normalised (losses.normalize), computed before this step's update;
   * empty for a replay step (`anchors`).
   */
  embeddings: Float32Array;
  /** Gradients of the shard's objective, packed in the order of the trainable variables. */
  gradients?: PackedTensors;
  /** Unweighted loss parts (empty when it did not train). */
  losses: Record<string, number>;
  /** The weighted objective (absent when it did not train). */
  total?: number;
  mining?: StepMiningStats;
  /** The replica's version after the step: one more than before when it applied (`applyAs`). */
  modelVersion: number;
  embedMs: number;
  trainMs: number;
  /** Tensors alive in the worker after the step (a leak shows as growth). */
  numTensors: number;
  /** The worker isolate's used JavaScript heap after the step, in bytes. */
  heapUsedBytes: number;
}

export interface ApplyTask {
  kind: 'apply';
  /** The averaged gradients, packed like StepResult.gradients. */
  gradients: PackedTensors;
  /** The version the weights reach with this update: every replica must be at version − 1. */
  version: number;
  /**
   * Sent to the embedding replica, which never trains: the deep-clustering head's entries are
   * skipped (it has no head; the head does not change embeddings), the rest apply by name.
   */
  follower?: boolean;
}

export interface ApplyResult {
  kind: 'apply';
  modelVersion: number;
  numTensors: number;
}

export interface GetStateTask {
  kind: 'get-state';
}

export interface GetStateResult {
  kind: 'get-state';
  state: ModelState;
}

/**
 * Replaces the replica's weights (the optimiser slots too, where `state` carries them) with a
 * state another process published: a consumer group's instances embed with their leader's
 * weights (sync.enabled).
 */
export interface SetStateTask {
  kind: 'set-state';
  state: ModelState;
}

export interface SetStateResult {
  kind: 'set-state';
  modelVersion: number;
}

/** The worker's heap after a full garbage collection (leak checks, diagnostics). */
export interface HeapTask {
  kind: 'heap';
}

export interface HeapResult {
  kind: 'heap';
  /** Bytes of the worker's JavaScript heap still in use after a full collection. */
  heapUsedBytes: number;
  numTensors: number;
}

export type TrainerTask = InitTask | StepTask | ApplyTask | GetStateTask | SetStateTask | HeapTask;
export type TrainerResult =
  InitResult | StepResult | ApplyResult | GetStateResult | SetStateResult | HeapResult;
