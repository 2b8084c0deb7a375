/**
 * What one training step trains on, decided from the task alone (no replica state): which losses
 * are on in this phase and with or without the store, the rows the network sees (the shard, a
 * record and its neighbour, or two augmented views), their miner labels and pseudo-labels.
 * trainer.ts runs the step; this file chooses its objective.
 */
import { augmentViews } from '../losses/augment.js';
import { effectiveReconstructionWeight, type LossesConfig } from '../losses/config.js';
import { neighbourViews } from '../losses/neighbour-views.js';
import { resolveLabels, viewLabels } from '../losses/positives.js';
import type { StepTask } from './protocol.js';

/**
 * The losses of this step. The warm-up phase trains the autoencoder alone. Without the store's
 * centroids (pretraining on the warm-up sample, before the store exists) the losses that need
 * them (k-means, soft and deep clustering, pairs from pseudo-labels) are off; when nothing else
 * is on, the step trains the autoencoder, DEC's and IDEC's pretraining.
 */
export function stepLosses(l: LossesConfig, task: StepTask): LossesConfig {
  const off = { weight: 0 };
  const autoencoder = (): LossesConfig => ({
    ...l,
    ntXent: { ...l.ntXent, ...off },
    contrastive: { ...l.contrastive, ...off },
    triplet: { ...l.triplet, ...off },
    kmeans: { ...l.kmeans, ...off },
    deepCluster: { ...l.deepCluster, ...off },
    softCluster: { ...l.softCluster, ...off },
    reconstruction: {
      ...l.reconstruction,
      weight: l.reconstruction.weight > 0 ? l.reconstruction.weight : 1,
      auto: false,
    },
  });
  if (task.phase === 'warmup') return autoencoder();
  if (task.centroids !== undefined) return l;
  const pseudo = l.positives.source === 'pseudo';
  const withoutStore: LossesConfig = {
    ...l,
    contrastive: pseudo ? { ...l.contrastive, ...off } : l.contrastive,
    triplet: pseudo ? { ...l.triplet, ...off } : l.triplet,
    kmeans: { ...l.kmeans, ...off },
    deepCluster: { ...l.deepCluster, ...off },
    softCluster: { ...l.softCluster, ...off },
  };
  const anyLeft =
    withoutStore.ntXent.weight > 0 ||
    withoutStore.contrastive.weight > 0 ||
    withoutStore.triplet.weight > 0;
  return anyLeft ? withoutStore : autoencoder();
}

/** Whether the step's objective has any part (no decoder and nothing on: nothing to train). */
export function hasObjective(losses: LossesConfig, hasDecoder: boolean): boolean {
  return (
    losses.ntXent.weight > 0 ||
    losses.contrastive.weight > 0 ||
    losses.triplet.weight > 0 ||
    losses.kmeans.weight > 0 ||
    losses.deepCluster.weight > 0 ||
    losses.softCluster.weight > 0 ||
    (hasDecoder && effectiveReconstructionWeight(losses) > 0)
  );
}

export interface LossInputs {
  features: Float32Array;
  rows: number;
  labels: Int32Array | undefined;
  /** Row i and row rows/2 + i are a positive pair (NT-Xent). */
  paired: boolean;
  pseudoLabels: Int32Array | undefined;
  needsHead: boolean;
  /** Neighbour pairs formed, those with a distinct positive, and the share without one. */
  pairs?: { found: number; active: number; droppedFraction: number };
}

export function lossInputs(
  dims: { inputDim: number; embeddingDim: number },
  task: StepTask,
  embeddings: Float32Array,
  losses: LossesConfig,
): LossInputs {
  const { positives } = losses;
  const pseudo =
    task.centroids === undefined || embeddings.length === 0
      ? undefined
      : nearestCentroids(
          embeddings,
          task.rows,
          task.centroids,
          task.clusters as number,
          dims.embeddingDim,
        );
  const needsLabels =
    losses.triplet.weight > 0 || losses.contrastive.weight > 0 || losses.ntXent.weight > 0;
  if (needsLabels && positives.source === 'neighbours' && task.rows >= 2) {
    const anchors = Math.min(task.anchors ?? task.rows, task.rows);
    const views = neighbourViews(task.features, task.rows, dims.inputDim, {
      anchors,
      neighbours: positives.neighbours,
      corruption: positives.corruption,
      seed: positives.seed + task.seed,
    });
    return {
      features: views.views,
      rows: 2 * anchors,
      labels: viewLabels(anchors),
      paired: true,
      pseudoLabels:
        pseudo === undefined
          ? undefined
          : Int32Array.from([
              ...pseudo.subarray(0, anchors),
              ...[...views.partners].map((j) => pseudo[j] as number),
            ]),
      needsHead: losses.deepCluster.weight > 0,
      pairs: {
        found: anchors,
        active: anchors - views.copies,
        droppedFraction: views.copies / anchors,
      },
    };
  }
  if (needsLabels && positives.source === 'views') {
    const views = augmentViews(task.features, dims.inputDim, {
      noiseStd: positives.noiseStd,
      dropout: positives.dropout,
      seed: positives.seed + task.seed,
    });
    return {
      features: views.views,
      rows: 2 * task.rows,
      labels: views.labels,
      paired: true,
      pseudoLabels: pseudo === undefined ? undefined : Int32Array.from([...pseudo, ...pseudo]),
      needsHead: losses.deepCluster.weight > 0,
    };
  }
  const labels =
    needsLabels && positives.source === 'pseudo' && pseudo !== undefined
      ? resolveLabels('pseudo', { n: task.rows, clusterIds: pseudo })
      : task.labels;
  return {
    features: task.features,
    rows: task.rows,
    labels,
    paired: false,
    pseudoLabels: pseudo,
    needsHead: losses.deepCluster.weight > 0,
  };
}

/** Whether this step's losses need each row's nearest centroid (and so its embedding). */
export function needsPseudoLabels(l: LossesConfig, task: StepTask): boolean {
  if (task.centroids === undefined) return false;
  const pairsFromPseudo =
    l.positives.source === 'pseudo' && (l.triplet.weight > 0 || l.contrastive.weight > 0);
  return l.deepCluster.weight > 0 || pairsFromPseudo;
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
