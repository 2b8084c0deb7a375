/**
 * The trainer's state inside its worker thread: the embedding network, its optimiser and the
 * training step. One worker owns the weights (single writer), so there is exactly one model
 * version at a time and no replica can drift; the worker engine issue extends this to a pool.
 *
 * Each step first embeds the batch with the current weights (those embeddings are what the
 * centroid store assigns), then, when asked, takes one optimiser step on the clustering loss
 * against the store's centroids, which enter as constants: no gradient reaches the store.
 */
import * as tf from '@tensorflow/tfjs';

import { selectBackend } from './backend.js';
import { buildEmbeddingNetwork, l2Normalize } from './embedding-network.js';
import type { InitResult, InitTask, StepResult, StepTask } from './protocol.js';

interface TrainerState {
  model: tf.Sequential;
  optimizer: tf.Optimizer;
  inputDim: number;
  embeddingDim: number;
  version: number;
}

let state: TrainerState | undefined;

export async function initTrainer(task: InitTask): Promise<InitResult> {
  // PROD silences tfjs' "install the node backend" banner; the backend choice is logged instead.
  tf.env().set('PROD', true);
  const backend = await selectBackend(tf, task.backend);
  state?.model.dispose();
  const model = buildEmbeddingNetwork(task.model);
  state = {
    model,
    optimizer: tf.train.adam(task.model.learningRate),
    inputDim: task.model.inputDim,
    embeddingDim: task.model.embeddingDim,
    version: 0,
  };
  return { kind: 'init', backend, modelVersion: 0, parameterCount: model.countParams() };
}

export function step(task: StepTask): StepResult {
  const s = requireState();
  if (task.features.length !== task.rows * s.inputDim) {
    throw new TypeError(
      `step: features has ${task.features.length} values, expected rows × inputDim = ${task.rows} × ${s.inputDim}`,
    );
  }
  const started = performance.now();
  const x = tf.tensor2d(task.features, [task.rows, s.inputDim]);
  try {
    const embeddings = tf.tidy(() => l2Normalize(s.model.predict(x) as tf.Tensor2D).dataSync());
    const embedded = performance.now();
    const losses: Record<string, number> = {};
    let trained = false;
    if (
      task.train &&
      task.centroids !== undefined &&
      task.clusters !== undefined &&
      task.rows > 0
    ) {
      const centroids = tf.tensor2d(task.centroids, [task.clusters, s.embeddingDim]);
      try {
        const loss = s.optimizer.minimize(
          () =>
            kmeansObjective(
              l2Normalize(s.model.apply(x, { training: true }) as tf.Tensor2D),
              centroids,
            ),
          true,
        );
        losses['kmeans'] = loss === null ? 0 : (loss.dataSync()[0] ?? 0);
        loss?.dispose();
        s.version += 1;
        trained = true;
      } finally {
        centroids.dispose();
      }
    }
    return {
      kind: 'step',
      embeddings: embeddings as Float32Array,
      losses,
      trained,
      modelVersion: s.version,
      embedMs: embedded - started,
      trainMs: performance.now() - embedded,
      numTensors: tf.memory().numTensors,
    };
  } finally {
    x.dispose();
  }
}

/** Mean over the batch of the squared distance to the nearest centroid. */
function kmeansObjective(z: tf.Tensor2D, centroids: tf.Tensor2D): tf.Scalar {
  const zz = tf.sum(tf.square(z), 1, true);
  const cc = tf.transpose(tf.sum(tf.square(centroids), 1, true));
  const squared = tf.relu(tf.add(tf.sub(zz, tf.mul(2, tf.matMul(z, centroids, false, true))), cc));
  return tf.mean(tf.min(squared, 1));
}

function requireState(): TrainerState {
  if (state === undefined) throw new Error('trainer used before init');
  return state;
}
