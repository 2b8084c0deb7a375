/**
 * Triplet loss over in-batch mined triplets.
 *
 * - `hinge` (default): max(0, d(a,p) − d(a,n) + margin).
 * - `soft`: softplus(d(a,p) − d(a,n)) = log(1 + exp(·)), the margin-free form of Hermans et
 *   al.; tfjs's softplus is the stable max(x, 0) + log1p(exp(−|x|)), so large gaps neither
 *   overflow nor lose the gradient. The margin still shapes semi-hard and easy mining.
 *
 * Distances come from `pairwiseDistances` (euclidean on L2-normalised embeddings by default)
 * and the triplets from `mine` (any strategy). Mining reads the distances once and is not
 * differentiated; the loss gathers the chosen entries of the distance matrix, so the gradient
 * reaches the embeddings through exactly those entries.
 *
 * Parameters (beyond those of `pairwiseDistances` and `mine`): `form`; `margin` (> 0, default 1;
 * on unit-norm embeddings 0.1–0.5 is usual); `reduction` (default `mean-nonzero`, see
 * reduce-terms.ts).
 *
 * Empty cases (one sample, all labels distinct, no valid triplet) return a zero attached to
 * `embeddings` with zero gradients.
 *
 * Example (TF-Addons compatibility, see mine.ts): labels [0, 0], embeddings [[0, 1], [1, 0]],
 * normalize false, margin 1, strategy semi-hard, fallback farthest, emptySets tfa-compat,
 * reduction mean → 2.4142137; strategy batch-hard → 1.
 *
 * References: F. Schroff et al., "FaceNet", CVPR 2015; A. Hermans et al., "In Defense of the
 * Triplet Loss for Person Re-Identification", 2017.
 */
import * as tf from '@tensorflow/tfjs';
import { mine, type MineOptions, type MinedTriplets, type MiningStats } from './mine.js';
import { pairwiseDistances, type PairwiseDistanceOptions } from './pairwise-distances.js';
import { reduceTerms, type Reduction } from './reduce-terms.js';
import { assertRank2, gatherDifferentiable } from './stop-gradient.js';

export type TripletForm = 'hinge' | 'soft';

export interface TripletOptions extends MineOptions, PairwiseDistanceOptions {
  form?: TripletForm;
  reduction?: Reduction;
}

export interface LossWithMining {
  loss: tf.Scalar;
  mining: MiningStats;
}

export function triplet(
  embeddings: tf.Tensor2D,
  labels: ArrayLike<number>,
  options: TripletOptions = {},
): LossWithMining {
  assertRank2('embeddings', embeddings);
  if (labels.length !== embeddings.shape[0]) {
    throw new Error(
      `triplet: labels [${labels.length}] must match embeddings [${embeddings.shape.join(', ')}]`,
    );
  }
  let mining: MiningStats | undefined;
  const loss = tf.tidy(() => {
    const distances = pairwiseDistances(embeddings, options);
    const mined = mine(distances, labels, options);
    mining = mined.stats;
    if ((options.form ?? 'hinge') === 'soft') mining = { ...mining, active: mining.found };
    return tripletFromMined(distances, mined, options, embeddings);
  });
  return { loss, mining: mining as MiningStats };
}

/** The loss for triplets already mined from `distances`; `attachTo` defaults to `distances`. */
export function tripletFromMined(
  distances: tf.Tensor2D,
  mined: Pick<MinedTriplets, 'anchors' | 'positives' | 'negatives'>,
  options: Pick<TripletOptions, 'form' | 'margin' | 'reduction'> = {},
  attachTo: tf.Tensor = distances,
): tf.Scalar {
  const n = distances.shape[0];
  const margin = options.margin ?? 1;
  const reduction = options.reduction ?? 'mean-nonzero';
  return tf.tidy(() => {
    const count = mined.anchors.length;
    if (count === 0) return reduceTerms(tf.zeros([0]) as tf.Tensor1D, reduction, attachTo);
    const ap = new Int32Array(count);
    const an = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const row = (mined.anchors[i] as number) * n;
      ap[i] = row + (mined.positives[i] as number);
      an[i] = row + (mined.negatives[i] as number);
    }
    const flat = tf.reshape(distances, [-1]);
    const gap = tf.sub(gatherDifferentiable(flat, ap), gatherDifferentiable(flat, an));
    const terms =
      (options.form ?? 'hinge') === 'soft'
        ? tf.softplus(gap)
        : tf.relu(tf.add(gap, tf.scalar(margin)));
    return reduceTerms(terms as tf.Tensor1D, reduction, attachTo);
  });
}
