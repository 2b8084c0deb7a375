/**
 * Contrastive loss over labelled pairs.
 *
 * Per pair, with y = 1 for similar and 0 for dissimilar, d its distance:
 * - `hadsell` (default): t = y·d² + (1 − y)·max(0, m − d)²  (Hadsell, Chopra, LeCun 2006).
 * - `pos-neg-margin`: t = y·max(0, d − m₊)² + (1 − y)·max(0, m₋ − d)²; similar pairs closer
 *   than m₊ stop pulling (pytorch-metric-learning's ContrastiveLoss, squared). With m₊ = 0 and
 *   m₋ = m it equals `hadsell`.
 *
 * The seed document writes L = 1/(2N) Σ t. The ½ is a constant that only rescales the weight;
 * `reduction: 'mean'` is Σ t / N as in TF-Addons and Keras (so published reference values
 * apply), and a config weight of w with this reduction equals weight 2w in the seed's form.
 *
 * Parameters: `form`; `margin` (m, > 0, default 1); `posMargin` (m₊, ≥ 0, default 0);
 * `negMargin` (m₋, default = margin); `reduction` (default `mean`); the pair miner's
 * `strategy`/`maxPairs`/`seed`; the distance options (euclidean on L2-normalised embeddings by
 * default).
 *
 * Example (pairs given directly): y = [0, 0, 1, 1, 0, 1], d = [0.1, 0.3, 1.3, 0.7, 1.1, 0.5],
 * margin 1 → terms [0.81, 0.49, 1.69, 0.49, 0, 0.25], mean 0.6216667; margin 2 → 1.6233333.
 *
 * Reference: R. Hadsell, S. Chopra, Y. LeCun, "Dimensionality Reduction by Learning an
 * Invariant Mapping", CVPR 2006.
 */
import * as tf from '@tensorflow/tfjs';
import type { MiningStats } from './mine.js';
import { minePairs, type MinePairsOptions } from './mine-pairs.js';
import { pairwiseDistances, type PairwiseDistanceOptions } from './pairwise-distances.js';
import { reduceTerms, type Reduction } from './reduce-terms.js';
import { assertRank2, gatherDifferentiable } from './stop-gradient.js';
import type { LossWithMining } from './triplet.js';

export type ContrastiveForm = 'hadsell' | 'pos-neg-margin';

export interface ContrastiveTermOptions {
  form?: ContrastiveForm;
  margin?: number;
  posMargin?: number;
  negMargin?: number;
}

export interface ContrastiveOptions
  extends
    ContrastiveTermOptions,
    Omit<MinePairsOptions, 'posMargin' | 'negMargin'>,
    PairwiseDistanceOptions {
  reduction?: Reduction;
}

/** Per-pair terms t for distances `d` and similarity flags `similar` (1 / 0), both [P]. */
export function contrastiveTerms(
  d: tf.Tensor1D,
  similar: tf.Tensor1D,
  options: ContrastiveTermOptions = {},
): tf.Tensor1D {
  if (d.rank !== 1 || similar.rank !== 1 || d.shape[0] !== similar.shape[0]) {
    throw new Error(
      `contrastiveTerms: d [${d.shape.join(', ')}] and similar [${similar.shape.join(', ')}] must be equal-length vectors`,
    );
  }
  const { posMargin, negMargin } = margins(options);
  return tf.tidy(() => {
    const pull = tf.square(tf.relu(tf.sub(d, tf.scalar(posMargin))));
    const push = tf.square(tf.relu(tf.sub(tf.scalar(negMargin), d)));
    return tf.add(
      tf.mul(similar, pull),
      tf.mul(tf.sub(tf.scalar(1), similar), push),
    ) as tf.Tensor1D;
  });
}

export function contrastive(
  embeddings: tf.Tensor2D,
  labels: ArrayLike<number>,
  options: ContrastiveOptions = {},
): LossWithMining {
  assertRank2('embeddings', embeddings);
  const n = embeddings.shape[0];
  if (labels.length !== n) {
    throw new Error(
      `contrastive: labels [${labels.length}] must match embeddings [${embeddings.shape.join(', ')}]`,
    );
  }
  const { posMargin, negMargin } = margins(options);
  const reduction = options.reduction ?? 'mean';
  let mining: MiningStats | undefined;
  const loss = tf.tidy(() => {
    const distances = pairwiseDistances(embeddings, options);
    const pairs = minePairs(distances, labels, { ...options, posMargin, negMargin });
    mining = pairs.stats;
    if (pairs.first.length === 0) {
      return reduceTerms(tf.zeros([0]) as tf.Tensor1D, reduction, embeddings);
    }
    const flat = new Int32Array(pairs.first.length);
    for (let k = 0; k < flat.length; k++) {
      flat[k] = (pairs.first[k] as number) * n + (pairs.second[k] as number);
    }
    const d = gatherDifferentiable(tf.reshape(distances, [-1]), flat) as tf.Tensor1D;
    const terms = contrastiveTerms(d, tf.tensor1d(pairs.similar), options);
    return reduceTerms(terms, reduction, embeddings);
  });
  return { loss, mining: mining as MiningStats };
}

function margins(options: ContrastiveTermOptions): { posMargin: number; negMargin: number } {
  const margin = options.margin ?? 1;
  if ((options.form ?? 'hadsell') === 'hadsell') return { posMargin: 0, negMargin: margin };
  return { posMargin: options.posMargin ?? 0, negMargin: options.negMargin ?? margin };
}
