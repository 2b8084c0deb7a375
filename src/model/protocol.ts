/**
 * The one typed protocol between the main thread and the trainer worker (piscina). Arrays
 * travel as Float32Array whose buffers are transferred (`Piscina.move`), never copied or sent
 * as JSON: a batch of 1,024 × 64 floats is 256 KiB per direction per batch.
 */
import type { LossesConfig } from '../losses/config.js';
import type { BackendChoice, BackendRequest } from './backend.js';

export interface ModelSpec {
  inputDim: number;
  hiddenLayers: readonly number[];
  embeddingDim: number;
  activation: 'relu' | 'elu' | 'tanh' | 'selu';
  learningRate: number;
  seed: number;
}

export interface InitTask {
  kind: 'init';
  backend: BackendRequest;
  model: ModelSpec;
  losses: LossesConfig;
}

export interface InitResult {
  kind: 'init';
  backend: BackendChoice;
  modelVersion: number;
  parameterCount: number;
}

export interface StepTask {
  kind: 'step';
  /** n × inputDim, row-major. */
  features: Float32Array;
  rows: number;
  /** k × embeddingDim centroids of the store, when it is ready; absent during warm-up. */
  centroids?: Float32Array;
  clusters?: number;
  /** The store's id of each centroid row (the deep-clustering head follows them). */
  centroidIds?: Int32Array;
  /** The store's weight of each centroid row (class balance of deep clustering). */
  clusterSizes?: Float32Array;
  /** Miner labels resolved in the main thread (positives from a record field or the key). */
  labels?: Int32Array;
  /** Take a training step on this batch (after embedding it with the pre-step weights). */
  train: boolean;
  /** Varies the losses' sampling and the augmented views from batch to batch. */
  seed: number;
}

export interface StepMiningStats {
  found: number;
  active: number;
  droppedFraction: number;
}

export interface StepResult {
  kind: 'step';
  /** n × embeddingDim, L2-normalised, computed before this batch's update. */
  embeddings: Float32Array;
  /** Unweighted loss parts of the training step (empty when it did not train). */
  losses: Record<string, number>;
  /** The weighted objective the step minimised (absent when it did not train). */
  total?: number;
  trained: boolean;
  /** Triplet or pair mining statistics of the training step, when a miner ran. */
  mining?: StepMiningStats;
  /** Number of updates applied to the weights so far. */
  modelVersion: number;
  /** Worker-side milliseconds: embedding and training. */
  embedMs: number;
  trainMs: number;
  /** Tensors alive in the worker after the step (a leak shows as growth). */
  numTensors: number;
}

export type TrainerTask = InitTask | StepTask;
export type TrainerResult = InitResult | StepResult;
