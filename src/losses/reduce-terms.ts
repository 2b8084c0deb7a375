/**
 * The reductions the pair and triplet losses share.
 *
 * - `mean`: Σ t / N over every mined term, zero ones included (TF-Addons, Keras).
 * - `mean-nonzero`: Σ t / #{t > 0}. With hard mining most terms become 0 as training
 *   progresses, and a plain mean then shrinks the gradient towards nothing; averaging over the
 *   active terms keeps its scale (Hermans et al. 2017, "batch hard" with "mean over non-zero").
 * - `sum`: Σ t, for callers that normalise themselves.
 *
 * No term at all gives a zero attached to `attachTo`, never the NaN of a mean over nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { attachedZero } from './stop-gradient.js';

export type Reduction = 'mean' | 'mean-nonzero' | 'sum';

export function reduceTerms(
  terms: tf.Tensor1D,
  reduction: Reduction,
  attachTo: tf.Tensor,
): tf.Scalar {
  return tf.tidy((): tf.Scalar => {
    if (terms.size === 0) return attachedZero(attachTo);
    const total = tf.sum<tf.Scalar>(terms);
    if (reduction === 'sum') return total;
    if (reduction === 'mean') return tf.div(total, tf.scalar(terms.size)) as tf.Scalar;
    // step, not `greater`: tfjs comparisons have no gradient function and the tape would throw.
    const active = tf.sum(tf.step(terms));
    // max(count, 1): with no active term the sum is 0 already, and 0 / 1 keeps it finite.
    return tf.div(total, tf.maximum(active, tf.scalar(1))) as tf.Scalar;
  });
}
