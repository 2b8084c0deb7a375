/**
 * The training step's objective: the weighted sum of the configured clustering losses,
 *
 *   total = Σ_loss weight_loss · loss,
 *
 * with each part's unweighted value and the miners' statistics returned for metrics. Call it
 * inside `optimizer.minimize(() => …)` or `tf.variableGrads(() => …)` and return `total`.
 *
 * Inputs are tensors and typed arrays only, so a worker thread can build them from a
 * transferred batch:
 * - `embeddings` [n, dim]: the network's output. With `normalize` (default) they are
 *   L2-normalised here once and every loss sees the normalised rows; the centroid store should
 *   be fed the same normalised embeddings so that its centroids live in the same space.
 * - `paired`: the rows are n positive pairs, row i with row n + i; needed by NT-Xent.
 * - `labels` [n]: the miners' labels (see positives.ts); needed by contrastive and triplet.
 * - `centroids` [k, dim]: the store's snapshot; needed by k-means and soft clustering. No
 *   gradient flows into it.
 * - `inputs` and `reconstruction` [n, features]: the decoder's target and output; needed when
 *   the reconstruction term is on.
 * - `headLogits` [n, k], `pseudoLabels` [n], optional `clusterSizes` [k]: deep clustering.
 * - `seed`: for the losses' sampling (uniform-sampling, caps); vary it per batch.
 *
 * A loss that is on but lacks an input throws an error naming the config key to turn it off.
 *
 * State: soft clustering keeps a running estimate of the cluster frequencies. The caller owns
 * it: start with `{}` and pass the returned `state` to the next call (it is a new object; the
 * one passed in is not modified). It holds only typed arrays, so it can cross threads.
 *
 * Tensors: `total` and `parts` are created in the caller's scope. Inside `optimizer.minimize`
 * everything but the returned value is disposed when the forward pass ends, so read the parts
 * from `values` (one device read for all of them), not from the tensors afterwards.
 */
import * as tf from '@tensorflow/tfjs';
import { type LossesConfig, effectiveReconstructionWeight } from './config.js';
import { contrastive } from './contrastive.js';
import { deepCluster } from './deep-cluster.js';
import { kmeans } from './kmeans-loss.js';
import type { MiningStats } from './mine.js';
import { ntXent } from './nt-xent.js';
import { l2Normalize } from './pairwise-distances.js';
import { reconstruction } from './reconstruction.js';
import { softCluster } from './soft-cluster.js';
import { attachedZero } from './stop-gradient.js';
import { triplet } from './triplet.js';

export type LossName =
  | 'ntXent'
  | 'contrastive'
  | 'triplet'
  | 'kmeans'
  | 'deepCluster'
  | 'softCluster'
  | 'reconstruction';

export interface ClusteringLossInputs {
  embeddings: tf.Tensor2D;
  /** True when the 2n rows are n positive pairs, row i with row n + i (views, neighbours). */
  paired?: boolean;
  labels?: Int32Array;
  centroids?: tf.Tensor2D;
  inputs?: tf.Tensor2D;
  reconstruction?: tf.Tensor2D;
  headLogits?: tf.Tensor2D;
  pseudoLabels?: Int32Array;
  clusterSizes?: Float32Array;
  seed?: number;
}

export interface ClusteringLossState {
  /** Soft clustering's EMA of soft cluster frequencies (length k). */
  softFrequencies?: Float32Array;
}

export interface CombinedMiningStats {
  triplet?: MiningStats;
  pair?: MiningStats;
}

export interface ClusteringLossResult {
  total: tf.Scalar;
  /** Unweighted value of each loss that is on. */
  parts: Partial<Record<LossName, tf.Scalar>>;
  /** The same values as numbers. */
  values: Partial<Record<LossName, number>>;
  mining: CombinedMiningStats;
  state: ClusteringLossState;
}

export function clusteringLoss(
  inputs: ClusteringLossInputs,
  config: LossesConfig,
  state: ClusteringLossState = {},
): ClusteringLossResult {
  const parts: Partial<Record<LossName, tf.Scalar>> = {};
  const weights: Partial<Record<LossName, number>> = {};
  const mining: CombinedMiningStats = {};
  const nextState: ClusteringLossState = { ...state };
  const seed = inputs.seed ?? 0;
  const z = config.normalize ? l2Normalize(inputs.embeddings) : inputs.embeddings;
  const distance = { metric: config.metric, normalize: false } as const;

  if (config.ntXent.weight > 0) {
    if (inputs.paired !== true) {
      throw new Error(
        'losses.ntXent.weight > 0 needs paired rows (losses.positives.source: neighbours or views); ' +
          'set one of those sources or losses.ntXent.weight: 0',
      );
    }
    parts.ntXent = ntXent(z, { temperature: config.ntXent.temperature });
    weights.ntXent = config.ntXent.weight;
  }
  if (config.contrastive.weight > 0) {
    const c = config.contrastive;
    const result = contrastive(z, need(inputs.labels, 'labels', 'contrastive'), {
      ...distance,
      form: c.form,
      margin: c.margin,
      posMargin: c.posMargin,
      negMargin: c.negMargin,
      strategy: c.pairs,
      reduction: c.reduction,
      maxPairs: c.maxPairs,
      seed,
    });
    parts.contrastive = result.loss;
    weights.contrastive = c.weight;
    mining.pair = result.mining;
  }
  if (config.triplet.weight > 0) {
    const t = config.triplet;
    const result = triplet(z, need(inputs.labels, 'labels', 'triplet'), {
      ...distance,
      form: t.form,
      margin: t.margin,
      strategy: t.miner,
      semiHardFallback: t.semiHardFallback,
      emptySets: t.emptySets,
      reduction: t.reduction,
      maxTriplets: t.maxTriplets,
      seed,
    });
    parts.triplet = result.loss;
    weights.triplet = t.weight;
    mining.triplet = result.mining;
  }
  if (config.kmeans.weight > 0) {
    const centroids = need(inputs.centroids, 'centroids', 'kmeans');
    parts.kmeans = kmeans(z, centroids, { reduction: config.kmeans.reduction });
    weights.kmeans = config.kmeans.weight;
  }
  if (config.softCluster.weight > 0) {
    const s = config.softCluster;
    const result = softCluster(z, need(inputs.centroids, 'centroids', 'softCluster'), {
      alpha: s.alpha,
      momentum: s.momentum,
      target: s.target,
      sinkhorn: { epsilon: s.sinkhornEpsilon, iterations: s.sinkhornIterations },
      ...(state.softFrequencies === undefined ? {} : { frequencies: state.softFrequencies }),
    });
    parts.softCluster = result.loss;
    weights.softCluster = s.weight;
    nextState.softFrequencies = result.frequencies;
  }
  if (config.deepCluster.weight > 0) {
    const d = config.deepCluster;
    parts.deepCluster = deepCluster(
      need(inputs.headLogits, 'headLogits', 'deepCluster'),
      need(inputs.pseudoLabels, 'pseudoLabels', 'deepCluster'),
      {
        balance: d.balance,
        seed,
        ...(inputs.clusterSizes === undefined ? {} : { clusterSizes: inputs.clusterSizes }),
      },
    );
    weights.deepCluster = d.weight;
  }
  const reconstructionWeight = effectiveReconstructionWeight(config);
  if (reconstructionWeight > 0) {
    parts.reconstruction = reconstruction(
      need(inputs.inputs, 'inputs', 'reconstruction'),
      need(inputs.reconstruction, 'reconstruction', 'reconstruction'),
      { reduction: config.reconstruction.reduction },
    );
    weights.reconstruction = reconstructionWeight;
  }
  if (z !== inputs.embeddings) z.dispose();

  const names = Object.keys(parts) as LossName[];
  const total = tf.tidy(() =>
    names.reduce<tf.Scalar>(
      (sum, name) =>
        tf.add(sum, tf.mul(parts[name] as tf.Scalar, tf.scalar(weights[name] as number))),
      attachedZero(inputs.embeddings),
    ),
  );
  const values: Partial<Record<LossName, number>> = {};
  if (names.length > 0) {
    const read = tf.tidy(() => tf.stack(names.map((name) => parts[name] as tf.Scalar)).dataSync());
    names.forEach((name, i) => {
      values[name] = read[i] as number;
    });
  }
  return { total, parts, values, mining, state: nextState };
}

function need<T>(value: T | undefined, input: string, loss: LossName): T {
  if (value === undefined) {
    throw new Error(
      `losses.${loss}.weight > 0 needs inputs.${input}, which is missing; provide it or set losses.${loss}.weight: 0`,
    );
  }
  return value;
}
