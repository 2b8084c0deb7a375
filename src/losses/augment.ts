/**
 * Two augmented views of every record, the positives source for an unlabelled stream when
 * neither a label field nor a record key exists (SimCLR-style: each record's two views are
 * positives of each other, every other record's views are negatives).
 *
 * Tabular features have no crops or colour jitter; the two perturbations that make sense are
 * additive Gaussian noise and feature dropout (each feature zeroed with probability `dropout`).
 * Dropout does not rescale the kept features by 1/(1 − p): the views are inputs to the network,
 * not a regulariser inside it, and rescaling would move them away from the data distribution.
 *
 * Parameters:
 * - `noiseStd`: standard deviation of the added noise, in feature units (≥ 0, default 0.05;
 *   relative to standardised features, 0.01–0.2 is sensible).
 * - `dropout`: probability of zeroing a feature, in [0, 1) (default 0.1).
 * - `seed`: generator seed (default 0). Callers that augment every batch should vary it
 *   (e.g. seed + batch number) or every batch gets the same noise pattern.
 *
 * Output: `views` is [2n, dim] row-major, the first n rows are view 1 of records 0..n−1 and the
 * next n rows view 2; `labels` is [0..n−1, 0..n−1], ready for the miners.
 *
 * Reference: T. Chen et al., "A Simple Framework for Contrastive Learning of Visual
 * Representations" (SimCLR), ICML 2020.
 */
import { gaussian, mulberry32 } from './mulberry32.js';
import { viewLabels } from './positives.js';

export interface AugmentOptions {
  noiseStd?: number;
  dropout?: number;
  seed?: number;
}

export interface AugmentedViews {
  views: Float32Array;
  labels: Int32Array;
}

export function augmentViews(
  features: Float32Array,
  dim: number,
  options: AugmentOptions = {},
): AugmentedViews {
  const noiseStd = options.noiseStd ?? 0.05;
  const dropout = options.dropout ?? 0.1;
  if (!Number.isInteger(dim) || dim < 1 || features.length % dim !== 0) {
    throw new Error(
      `augmentViews: features length ${features.length} is not a multiple of dim ${dim}`,
    );
  }
  if (!(noiseStd >= 0)) throw new Error(`augmentViews: noiseStd must be ≥ 0, got ${noiseStd}`);
  if (!(dropout >= 0 && dropout < 1)) {
    throw new Error(`augmentViews: dropout must be in [0, 1), got ${dropout}`);
  }
  const n = features.length / dim;
  const random = mulberry32(options.seed ?? 0);
  const views = new Float32Array(2 * features.length);
  for (let view = 0; view < 2; view++) {
    const offset = view * features.length;
    for (let i = 0; i < features.length; i++) {
      const kept = dropout > 0 && random() < dropout ? 0 : (features[i] as number);
      views[offset + i] = noiseStd > 0 ? kept + noiseStd * gaussian(random) : kept;
    }
  }
  return { views, labels: viewLabels(n) };
}
