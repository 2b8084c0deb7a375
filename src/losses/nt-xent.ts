/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR: for 2n rows in which row i
 * and row n + i are two views of one thing (two augmentations of a record, or a record and its
 * nearest neighbour), each row must pick its partner out of the other 2n − 1 rows,
 *
 *   ℓ_i = −log( exp(s(i, p(i)) / τ) / Σ_{j ≠ i} exp(s(i, j) / τ) ),   L = (1 / 2n) Σ_i ℓ_i,
 *
 * with s the cosine similarity (rows L2-normalised here) and p(i) = (i + n) mod 2n. The sum in
 * the denominator is a log-sum-exp over the masked row (the diagonal set to −1e9, so exp gives
 * exactly 0 without a NaN from −∞ · 0 in the gradient); softmaxCrossEntropy computes it in the
 * stable max-shifted form.
 *
 * Unlike the margin losses it needs no labels and no centroids, and it cannot collapse: the
 * denominator pushes every row away from all the others (the uniformity term of Wang & Isola),
 * which is why it is the default objective of the online learner.
 *
 * Parameters: `temperature` τ > 0 (default 0.5; 0.1–1: smaller sharpens the contrast with the
 * hardest negatives).
 *
 * References: T. Chen et al., "A Simple Framework for Contrastive Learning of Visual
 * Representations" (SimCLR), ICML 2020; T. Wang, P. Isola, "Understanding Contrastive
 * Representation Learning through Alignment and Uniformity on the Hypersphere", ICML 2020.
 */
import * as tf from '@tensorflow/tfjs';

import { l2Normalize } from './pairwise-distances.js';
import { attachedZero } from './stop-gradient.js';

export interface NtXentOptions {
  temperature?: number;
}

export function ntXent(embeddings: tf.Tensor2D, options: NtXentOptions = {}): tf.Scalar {
  const temperature = options.temperature ?? 0.5;
  if (!(temperature > 0))
    throw new RangeError(`ntXent: temperature must be > 0, got ${temperature}`);
  const [rows] = embeddings.shape;
  if (rows % 2 !== 0) {
    throw new Error(
      `ntXent: embeddings has ${rows} rows, expected 2n (row i and row n + i are a positive pair)`,
    );
  }
  if (rows === 0) return attachedZero(embeddings);
  const n = rows / 2;
  return tf.tidy(() => {
    const z = l2Normalize(embeddings);
    const similarity = tf.div(tf.matMul(z, z, false, true), temperature);
    const logits = tf.sub(similarity, tf.mul(tf.eye(rows), 1e9));
    const partner = tf.tensor1d(
      Int32Array.from({ length: rows }, (_, i) => (i < n ? i + n : i - n)),
      'int32',
    );
    return tf.losses.softmaxCrossEntropy(tf.oneHot(partner, rows), logits) as tf.Scalar;
  });
}
