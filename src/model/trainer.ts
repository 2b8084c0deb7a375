/**
 * The trainer's state inside its worker thread: the embedding network (with its decoder when
 * the reconstruction term is on, and the deep-clustering head when that loss is on), the
 * optimiser and the training step. One worker owns the weights (single writer), so there is
 * exactly one model version at a time and no replica can drift.
 *
 * Each step first embeds the batch with the current weights (those embeddings are what the
 * centroid store assigns), then, when asked, takes one optimiser step on the weighted sum of the
 * configured clustering losses (src/losses/combined.ts). The store's centroids enter as
 * constants: no gradient reaches the store.
 *
 * The deep-clustering head follows the store by cluster id: when the store's ids change (a
 * split, a re-seed, a death, a birth), classes whose id survives keep their weights and new ids
 * start from their centroid (see remapHead). A merge keeps the surviving id's class.
 */
import * as tf from '@tensorflow/tfjs';

import { clusteringLoss, type ClusteringLossState } from '../losses/combined.js';
import { effectiveReconstructionWeight, type LossesConfig } from '../losses/config.js';
import { augmentViews } from '../losses/augment.js';
import { headLogits, initHead, remapHead, type ClusterHead } from '../losses/cluster-head.js';
import { resolveLabels } from '../losses/positives.js';
import { selectBackend } from './backend.js';
import { buildDecoder, buildEmbeddingNetwork, l2Normalize } from './embedding-network.js';
import type { InitResult, InitTask, StepMiningStats, StepResult, StepTask } from './protocol.js';

interface TrainerState {
  encoder: tf.Sequential;
  decoder: tf.Sequential | undefined;
  optimizer: tf.Optimizer;
  losses: LossesConfig;
  inputDim: number;
  embeddingDim: number;
  version: number;
  lossState: ClusteringLossState;
  head: { ids: Int32Array; head: ClusterHead } | undefined;
}

let state: TrainerState | undefined;

export async function initTrainer(task: InitTask): Promise<InitResult> {
  // PROD silences tfjs' "install the node backend" banner; the backend choice is logged instead.
  tf.env().set('PROD', true);
  const backend = await selectBackend(tf, task.backend);
  disposeState();
  const encoder = buildEmbeddingNetwork(task.model);
  const decoder =
    effectiveReconstructionWeight(task.losses) > 0 ? buildDecoder(task.model) : undefined;
  state = {
    encoder,
    decoder,
    optimizer: tf.train.adam(task.model.learningRate),
    losses: task.losses,
    inputDim: task.model.inputDim,
    embeddingDim: task.model.embeddingDim,
    version: 0,
    lossState: {},
    head: undefined,
  };
  const parameterCount = encoder.countParams() + (decoder?.countParams() ?? 0);
  return { kind: 'init', backend, modelVersion: 0, parameterCount };
}

export function step(task: StepTask): StepResult {
  const s = requireState();
  if (task.features.length !== task.rows * s.inputDim) {
    throw new TypeError(
      `step: features has ${task.features.length} values, expected rows × inputDim = ${task.rows} × ${s.inputDim}`,
    );
  }
  const started = performance.now();
  const embeddings = embed(s, task.features, task.rows);
  const embedded = performance.now();
  let losses: Record<string, number> = {};
  let total: number | undefined;
  let mining: StepMiningStats | undefined;
  let trained = false;
  if (task.train && task.centroids !== undefined && task.clusters !== undefined && task.rows > 0) {
    ({ losses, mining, total } = trainStep(s, task, embeddings));
    s.version += 1;
    trained = true;
  }
  return {
    kind: 'step',
    embeddings,
    losses,
    ...(total === undefined ? {} : { total }),
    trained,
    ...(mining === undefined ? {} : { mining }),
    modelVersion: s.version,
    embedMs: embedded - started,
    trainMs: performance.now() - embedded,
    numTensors: tf.memory().numTensors,
  };
}

function embed(s: TrainerState, features: Float32Array, rows: number): Float32Array {
  return tf.tidy(() => {
    const z = s.encoder.predict(tf.tensor2d(features, [rows, s.inputDim])) as tf.Tensor2D;
    return (s.losses.normalize ? l2Normalize(z) : z).dataSync() as Float32Array;
  });
}

function trainStep(
  s: TrainerState,
  task: StepTask,
  embeddings: Float32Array,
): { losses: Record<string, number>; mining: StepMiningStats | undefined; total: number } {
  const k = task.clusters as number;
  const { positives } = s.losses;
  let features = task.features;
  let rows = task.rows;
  let labels: Int32Array | undefined = task.labels;
  const pseudo = nearestCentroids(
    embeddings,
    task.rows,
    task.centroids as Float32Array,
    k,
    s.embeddingDim,
  );
  if (positives.source === 'views') {
    const views = augmentViews(task.features, s.inputDim, {
      noiseStd: positives.noiseStd,
      dropout: positives.dropout,
      seed: positives.seed + task.seed,
    });
    features = views.views;
    rows = 2 * task.rows;
    labels = views.labels;
  } else if (positives.source === 'pseudo') {
    labels = resolveLabels('pseudo', { n: rows, clusterIds: pseudo });
  }
  const pseudoLabels =
    positives.source === 'views' ? Int32Array.from([...pseudo, ...pseudo]) : pseudo;
  const head = s.losses.deepCluster.weight > 0 ? followStore(s, task) : undefined;

  let values: Record<string, number> = {};
  let total: number;
  let miningStats: StepMiningStats | undefined;
  const x = tf.tensor2d(features, [rows, s.inputDim]);
  const centroids = tf.tensor2d(task.centroids as Float32Array, [k, s.embeddingDim]);
  try {
    const cost = s.optimizer.minimize(() => {
      const z = s.encoder.apply(x, { training: true }) as tf.Tensor2D;
      const result = clusteringLoss(
        {
          embeddings: z,
          centroids,
          inputs: x,
          ...(s.decoder === undefined
            ? {}
            : { reconstruction: s.decoder.apply(z, { training: true }) as tf.Tensor2D }),
          ...(labels === undefined ? {} : { labels }),
          ...(head === undefined ? {} : { headLogits: headLogits(z, head) }),
          pseudoLabels,
          ...(task.clusterSizes === undefined ? {} : { clusterSizes: task.clusterSizes }),
          seed: task.seed,
        },
        s.losses,
        s.lossState,
      );
      s.lossState = result.state;
      values = result.values as Record<string, number>;
      const m = result.mining.triplet ?? result.mining.pair;
      if (m !== undefined)
        miningStats = { found: m.found, active: m.active, droppedFraction: m.droppedFraction };
      return result.total;
    }, true);
    total = cost?.dataSync()[0] ?? 0;
    cost?.dispose();
  } finally {
    x.dispose();
    centroids.dispose();
  }
  return { losses: values, mining: miningStats, total };
}

/** Index of the nearest centroid row for each embedding: the pseudo-labels of this batch. */
function nearestCentroids(
  z: Float32Array,
  n: number,
  centroids: Float32Array,
  k: number,
  dim: number,
): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (let j = 0; j < k; j++) {
      let d = 0;
      for (let t = 0; t < dim; t++) {
        const diff = (z[i * dim + t] as number) - (centroids[j * dim + t] as number);
        d += diff * diff;
      }
      if (d < bestDistance) {
        bestDistance = d;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** The deep-clustering head, remapped when the store's cluster ids changed since the last step. */
function followStore(s: TrainerState, task: StepTask): ClusterHead {
  const k = task.clusters as number;
  const ids = task.centroidIds ?? Int32Array.from({ length: k }, (_, i) => i);
  const { head: kind, temperature } = s.losses.deepCluster;
  const current = s.head;
  if (current !== undefined && sameIds(current.ids, ids)) return current.head;
  const next = tf.tidy(() => {
    const centroids = tf.tensor2d(task.centroids as Float32Array, [k, s.embeddingDim]);
    if (current === undefined) return initHead(kind, centroids, temperature);
    const position = new Map([...current.ids].map((id, index) => [id, index]));
    const sources = [...ids].map((id) => (position.has(id) ? [position.get(id) as number] : []));
    return remapHead(current.head, sources, centroids);
  });
  if (current !== undefined) disposeHead(current.head);
  const variables: ClusterHead =
    next.kind === 'linear'
      ? { kind: 'linear', kernel: tf.variable(next.kernel), bias: tf.variable(next.bias) }
      : {
          kind: 'prototype',
          prototypes: tf.variable(next.prototypes),
          temperature: next.temperature,
        };
  disposeHead(next);
  s.head = { ids: Int32Array.from(ids), head: variables };
  return variables;
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function disposeHead(head: ClusterHead): void {
  if (head.kind === 'linear') tf.dispose([head.kernel, head.bias]);
  else head.prototypes.dispose();
}

function disposeState(): void {
  if (state === undefined) return;
  state.encoder.dispose();
  state.decoder?.dispose();
  state.optimizer.dispose();
  if (state.head !== undefined) disposeHead(state.head.head);
  state = undefined;
}

function requireState(): TrainerState {
  if (state === undefined) throw new Error('trainer used before init');
  return state;
}
