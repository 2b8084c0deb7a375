/**
 * Reconstruction loss: mean squared error between the records' features and a decoder's
 * reconstruction of them from the embeddings, L = (1/(N·D)) Σ_i ||x_i − x̂_i||².
 *
 * Why it is here: the k-means and soft clustering losses alone are minimised by collapsing all
 * embeddings onto a few centroids. IDEC and DCN keep an autoencoder's reconstruction term in the
 * objective so that the embedding must still describe its input; this is that term. The decoder
 * is part of the model (src/model); this file only scores its output. In the configuration it is
 * on by default whenever the soft or k-means loss is on.
 *
 * Parameters: `reduction`: `mean` (over samples and features, default) | `sum-features` (sum
 * over features, mean over samples, IDEC's form: the same minimiser, D times larger).
 *
 * Example: x = [[1, 2]], x̂ = [[0, 0]] → (1 + 4) / 2 = 2.5.
 *
 * References: X. Guo et al., IDEC, IJCAI 2017; B. Yang et al., DCN, ICML 2017.
 */
import * as tf from '@tensorflow/tfjs';
import { assertRank2, assertSameShape, attachedZero } from './stop-gradient.js';

export interface ReconstructionOptions {
  reduction?: 'mean' | 'sum-features';
}

export function reconstruction(
  inputs: tf.Tensor2D,
  reconstructed: tf.Tensor2D,
  options: ReconstructionOptions = {},
): tf.Scalar {
  assertRank2('inputs', inputs);
  assertSameShape('inputs', inputs, 'reconstruction', reconstructed);
  const [n, d] = inputs.shape;
  return tf.tidy(() => {
    if (n === 0 || d === 0) return attachedZero(reconstructed);
    const total = tf.sum(tf.squaredDifference(inputs, reconstructed));
    const divisor = (options.reduction ?? 'mean') === 'mean' ? n * d : n;
    return tf.div(total, tf.scalar(divisor)) as tf.Scalar;
  });
}
