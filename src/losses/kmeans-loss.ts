/**
 * k-means loss: how far each embedding is from its nearest centroid of the centroid store,
 * L = (1/N) Σ_i min_j ||z_i − μ_j||² (`reduction: 'mean'`, default) or the plain sum.
 *
 * It pulls embeddings towards the store's current clusters (DCN's clustering term). The
 * centroids are a snapshot the store owns and updates itself (online k-means), so they get no
 * gradient: they pass through `stopGradient` even if a caller hands in a variable.
 *
 * How it differs from writing `min` in tfjs: `tf.min`'s gradient goes to every entry equal to
 * the minimum, so a point equidistant from two centroids would be pulled twice as hard. The
 * nearest centroid is chosen once (lowest index on ties) from the distance values and the loss
 * gathers exactly that entry.
 *
 * Alone, this loss has a trivial minimum (every embedding on one centroid); pair it with the
 * reconstruction term (on by default when this loss is on) or a metric-learning loss.
 *
 * Parameters: `reduction`: `mean` | `sum`.
 *
 * Example: z = [[0, 0], [3, 4]], μ = [[0, 1], [3, 0]] → min distances² 1 and 16, mean 8.5.
 *
 * Reference: B. Yang et al., "Towards K-means-friendly Spaces: Simultaneous Deep Learning and
 * Clustering" (DCN), ICML 2017.
 */
import * as tf from '@tensorflow/tfjs';
import { squaredDistances } from './pairwise-distances.js';
import { assertRank2, attachedZero, stopGradient } from './stop-gradient.js';

export interface KMeansLossOptions {
  reduction?: 'mean' | 'sum';
}

/** Index of each row's smallest value (lowest index on ties) of a row-major [n, k] array. */
export function rowArgMins(values: Float32Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) {
      if ((values[i * k + j] as number) < (values[i * k + best] as number)) best = j;
    }
    out[i] = best;
  }
  return out;
}

export function kmeans(
  embeddings: tf.Tensor2D,
  centroids: tf.Tensor2D,
  options: KMeansLossOptions = {},
): tf.Scalar {
  assertRank2('embeddings', embeddings);
  assertRank2('centroids', centroids);
  if (embeddings.shape[1] !== centroids.shape[1]) {
    throw new Error(
      `kmeans: embeddings [${embeddings.shape.join(', ')}] and centroids [${centroids.shape.join(', ')}] must have the same dim`,
    );
  }
  const [n] = embeddings.shape;
  const [k] = centroids.shape;
  return tf.tidy(() => {
    if (n === 0 || k === 0) return attachedZero(embeddings);
    const sq = squaredDistances(embeddings, stopGradient(centroids));
    const nearest = rowArgMins(sq.dataSync() as Float32Array, n, k);
    const mask = tf.cast(tf.oneHot(tf.tensor1d(nearest, 'int32'), k), 'float32');
    const perPoint = tf.sum(tf.mul(sq, mask), 1);
    return (options.reduction ?? 'mean') === 'sum' ? tf.sum(perPoint) : tf.mean(perPoint);
  });
}
