/**
 * Soft clustering loss (DEC): KL(P‖Q) between the Student-t soft assignments Q of embeddings to
 * the store's centroids and a sharpened target P that is held fixed.
 *
 *   q_ij = (1 + ||z_i − μ_j||²/α)^(−(α+1)/2) / Σ_j' (…)
 *   p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j')          (`target: 'dec'`)
 *   L    = (1/N) Σ_i Σ_j p_ij log(p_ij / q_ij)
 *
 * How it differs from DEC:
 * - DEC recomputes f_j = Σ_i q_ij over the whole data set every T iterations. A stream has no
 *   whole data set, so f_j is a running estimate: an exponential moving average of the batch's
 *   soft frequencies, f ← β f + (1 − β) mean_i q_i·. The caller owns it: pass the returned
 *   `frequencies` back in with the next batch. A missing or wrong-length f (first batch, or the
 *   store split or merged clusters) restarts the estimate from the batch.
 * - `target: 'sinkhorn'` replaces DEC's sharpening with Sinkhorn-Knopp balanced targets computed
 *   from the scores log q_ij (SwAV), which forces equal cluster mass in the batch and so rules
 *   out collapse onto a few clusters. ε = 0.5 makes exp(log q/ε) = q², DEC's sharpening.
 * - Q is computed in the log domain, log q_ij = −(α+1)/2 · log1p(d²/α) − logsumexp_j(·), so a
 *   far-away point does not underflow every q_ij to 0 and produce 0/0.
 * - The centroids get no gradient (they belong to the store) unless `trainCentroids` is true.
 *   P is computed from Q's values on the CPU, so no gradient flows through it.
 *
 * Parameters: `alpha` (Student-t degrees of freedom, > 0, default 1 as in DEC); `target`
 * (`dec` | `sinkhorn`, default `dec`); `frequencies` (the previous EMA, length k); `momentum`
 * (β in [0, 1), default 0.9); `sinkhorn.epsilon` (default 0.5); `sinkhorn.iterations`
 * (default 3); `trainCentroids` (default false).
 *
 * Example: z = [[0]], μ = [[0], [1]], α = 1 → q = [2/3, 1/3]; with f = q, p = [2/3, 1/3] and the
 * loss is 0.
 *
 * References: J. Xie, R. Girshick, A. Farhadi, "Unsupervised Deep Embedding for Clustering
 * Analysis" (DEC), ICML 2016; X. Guo et al., "Improved Deep Embedded Clustering with Local
 * Structure Preservation" (IDEC), IJCAI 2017; M. Caron et al., SwAV, NeurIPS 2020.
 */
import * as tf from '@tensorflow/tfjs';
import { squaredDistances } from './pairwise-distances.js';
import { sinkhorn, type SinkhornOptions } from './sinkhorn.js';
import { assertRank2, attachedZero, stopGradient } from './stop-gradient.js';

export interface SoftClusterOptions {
  alpha?: number;
  target?: 'dec' | 'sinkhorn';
  frequencies?: Float32Array;
  momentum?: number;
  sinkhorn?: SinkhornOptions;
  trainCentroids?: boolean;
}

export interface SoftClusterResult {
  loss: tf.Scalar;
  /** The updated soft cluster frequency estimate (sums to 1); feed it to the next call. */
  frequencies: Float32Array;
}

/** log q_ij, [n, k]: Student-t soft assignments in the log domain. */
export function logSoftAssignments(
  embeddings: tf.Tensor2D,
  centroids: tf.Tensor2D,
  alpha = 1,
): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = squaredDistances(embeddings, centroids);
    const logits = tf.mul(tf.log1p(tf.div(sq, tf.scalar(alpha))), tf.scalar(-(alpha + 1) / 2));
    return tf.logSoftmax(logits, 1) as tf.Tensor2D;
  });
}

export function softCluster(
  embeddings: tf.Tensor2D,
  centroids: tf.Tensor2D,
  options: SoftClusterOptions = {},
): SoftClusterResult {
  assertRank2('embeddings', embeddings);
  assertRank2('centroids', centroids);
  if (embeddings.shape[1] !== centroids.shape[1]) {
    throw new Error(
      `softCluster: embeddings [${embeddings.shape.join(', ')}] and centroids [${centroids.shape.join(', ')}] must have the same dim`,
    );
  }
  const alpha = options.alpha ?? 1;
  const momentum = options.momentum ?? 0.9;
  if (!(alpha > 0)) throw new Error(`softCluster: alpha must be > 0, got ${alpha}`);
  if (!(momentum >= 0 && momentum < 1)) {
    throw new Error(`softCluster: momentum must be in [0, 1), got ${momentum}`);
  }
  const [n] = embeddings.shape;
  const [k] = centroids.shape;
  let frequencies = options.frequencies ?? new Float32Array(0);
  const loss = tf.tidy(() => {
    if (n === 0 || k === 0) return attachedZero(embeddings);
    const mu = options.trainCentroids === true ? centroids : stopGradient(centroids);
    const logQ = logSoftAssignments(embeddings, mu, alpha);
    const logQValues = logQ.dataSync() as Float32Array;
    frequencies = updateFrequencies(logQValues, n, k, options.frequencies, momentum);
    const p =
      options.target === 'sinkhorn'
        ? sinkhorn(logQValues, n, k, { epsilon: 0.5, ...options.sinkhorn })
        : decTarget(logQValues, n, k, frequencies);
    // KL(P‖Q) = Σ p log p − Σ p log q; the first sum is a constant (P is fixed).
    let negEntropy = 0;
    for (let i = 0; i < p.length; i++) {
      const v = p[i] as number;
      if (v > 0) negEntropy += v * Math.log(v);
    }
    const crossEntropy = tf.neg(tf.sum(tf.mul(tf.tensor2d(p, [n, k]), logQ)));
    return tf.div(tf.add(crossEntropy, tf.scalar(negEntropy)), tf.scalar(n)) as tf.Scalar;
  });
  return { loss, frequencies };
}

/** The EMA of the batch's mean soft assignment; restarts when `previous` does not fit k. */
export function updateFrequencies(
  logQ: Float32Array,
  n: number,
  k: number,
  previous: Float32Array | undefined,
  momentum: number,
): Float32Array {
  const batch = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++)
      batch[j] = (batch[j] as number) + Math.exp(logQ[i * k + j] as number) / n;
  }
  const restart = previous === undefined || previous.length !== k;
  const out = new Float32Array(k);
  for (let j = 0; j < k; j++) {
    out[j] = restart
      ? (batch[j] as number)
      : momentum * (previous[j] as number) + (1 - momentum) * (batch[j] as number);
  }
  return out;
}

/** DEC's target p_ij ∝ q_ij² / f_j, each row normalised; computed in the log domain. */
export function decTarget(logQ: Float32Array, n: number, k: number, f: Float32Array): Float32Array {
  const p = new Float32Array(n * k);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      // A frequency of exactly 0 would divide by zero; the floor keeps such a cluster's target
      // huge but finite, which is the intended push towards an emptied cluster.
      const v = 2 * (logQ[i * k + j] as number) - Math.log(Math.max(f[j] as number, 1e-12));
      row[j] = v;
      max = Math.max(max, v);
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp((row[j] as number) - max);
    for (let j = 0; j < k; j++) p[i * k + j] = Math.exp((row[j] as number) - max) / sum;
  }
  return p;
}
