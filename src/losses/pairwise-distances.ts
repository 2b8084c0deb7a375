/**
 * Pairwise distances between the rows of a batch of embeddings, with a gradient that stays
 * finite where two embeddings coincide.
 *
 * Metrics:
 * - `euclidean` (default): ||a − b||.
 * - `squared`: ||a − b||², smooth everywhere, no square root.
 * - `cosine`: 1 − cos(a, b), in [0, 2]; rows are normalised for this metric whatever `normalize`
 *   says, because the cosine is defined on directions.
 *
 * How it differs from the textbook form: the squared distances come from the Gram matrix,
 * ||a||² + ||b||² − 2 a·b, which is one matmul instead of an n×n×d difference tensor. Float32
 * cancellation can make that slightly negative, so it is clamped at 0 (relu, whose gradient at 0
 * is 0), and the diagonal is forced to exactly 0.
 *
 * Zero-distance gradient ("mask trick"): d/dx √x = 1/(2√x) is infinite at x = 0, and
 * 0 · ∞ = NaN poisons every weight. Entries that are exactly zero get ε added inside the root
 * (so the root's gradient is finite) and are multiplied by 0 afterwards (so their value stays an
 * exact 0 and their gradient is 0, the symmetric subgradient of |h|). An ε inside every root
 * would shift every distance by about √ε and break exact reference values, which is why only
 * the zero entries get it.
 *
 * Parameters:
 * - `metric`: `euclidean` | `squared` | `cosine` (default `euclidean`).
 * - `normalize`: L2-normalise rows first (default true, as the design asks).
 * - `epsilon`: floor of the row norm when normalising (default 1e-12); a zero row stays zero
 *   instead of becoming NaN.
 *
 * Example: pairwiseDistances(tf.tensor2d([[0, 1], [1, 0]]), { normalize: false }) →
 * [[0, 1.4142135], [1.4142135, 0]].
 *
 * References: F. Schroff et al., "FaceNet", CVPR 2015; O. Moindrot, "Triplet loss and online
 * triplet mining in TensorFlow" (2018), for the masking trick.
 */
import * as tf from '@tensorflow/tfjs';
import { assertRank2 } from './stop-gradient.js';

export type DistanceMetric = 'euclidean' | 'squared' | 'cosine';

export interface PairwiseDistanceOptions {
  metric?: DistanceMetric;
  normalize?: boolean;
  epsilon?: number;
}

/** Rows scaled to unit L2 norm; a zero row stays zero. */
export function l2Normalize(x: tf.Tensor2D, epsilon = 1e-12): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), 1, true));
    return tf.div(x, tf.maximum(norm, tf.scalar(epsilon)));
  });
}

/** ||a_i − b_j||², clamped at 0; `a` is [n, d], `b` is [m, d], the result [n, m]. */
export function squaredDistances(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  assertRank2('a', a);
  assertRank2('b', b);
  if (a.shape[1] !== b.shape[1]) {
    throw new Error(
      `squaredDistances: a [${a.shape.join(', ')}] and b [${b.shape.join(', ')}] must have the same dim`,
    );
  }
  return tf.tidy(() => {
    const aa = tf.sum(tf.square(a), 1, true);
    const bb = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]);
    const ab = tf.matMul(a, b, false, true);
    return tf.relu(tf.sub(tf.add(aa, bb), tf.mul(ab, tf.scalar(2)))) as tf.Tensor2D;
  });
}

/**
 * √x with value 0 and gradient 0 where x is exactly 0 (see the mask trick above). x must be ≥ 0.
 * The mask is `step(x)` rather than `x > 0` because tfjs's comparison ops have no gradient
 * function and the tape refuses to pass through them; step's gradient is defined as 0.
 */
export function safeSqrt(x: tf.Tensor, epsilon = 1e-16): tf.Tensor {
  return tf.tidy(() => {
    const nonZero = tf.step(x);
    const root = tf.sqrt(tf.add(x, tf.mul(tf.sub(tf.scalar(1), nonZero), tf.scalar(epsilon))));
    return tf.mul(root, nonZero);
  });
}

export function pairwiseDistances(
  embeddings: tf.Tensor2D,
  options: PairwiseDistanceOptions = {},
): tf.Tensor2D {
  assertRank2('embeddings', embeddings);
  const metric = options.metric ?? 'euclidean';
  const normalize = options.normalize ?? true;
  const epsilon = options.epsilon ?? 1e-12;
  return tf.tidy(() => {
    const n = embeddings.shape[0];
    const offDiagonal = tf.sub(tf.scalar(1), tf.eye(n));
    if (metric === 'cosine') {
      const z = l2Normalize(embeddings, epsilon);
      const cos = tf.matMul(z, z, false, true);
      // 1 − cos lies in [0, 2] mathematically; clamping removes float32 overshoot.
      return tf.mul(tf.clipByValue(tf.sub(tf.scalar(1), cos), 0, 2), offDiagonal) as tf.Tensor2D;
    }
    const z = normalize ? l2Normalize(embeddings, epsilon) : embeddings;
    const squared = tf.mul(squaredDistances(z, z), offDiagonal) as tf.Tensor2D;
    return metric === 'squared' ? squared : (safeSqrt(squared) as tf.Tensor2D);
  });
}
