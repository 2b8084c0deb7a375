/**
 * The one typed protocol between the main thread and the trainer worker (piscina). Arrays
 * travel as Float32Array whose buffers are transferred (`Piscina.move`), never copied or sent
 * as JSON: a batch of 1,024 × 64 floats is 256 KiB per direction per batch.
 */
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
  /** Take a training step on this batch (after embedding it with the pre-step weights). */
  train: boolean;
}

export interface StepResult {
  kind: 'step';
  /** n × embeddingDim, L2-normalised, computed before this batch's update. */
  embeddings: Float32Array;
  /** Loss parts of the training step (empty when it did not train). */
  losses: Record<string, number>;
  trained: boolean;
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
