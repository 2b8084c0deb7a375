/**
 * Deep clustering loss (DeepCluster): cross-entropy of a classification head's logits against
 * the centroid store's k-means pseudo-labels, class-balanced so that a big cluster cannot
 * swallow the rest by dominating the gradient.
 *
 *   L = Σ_i w_{y_i} · CE_i / Σ_i w_{y_i},   CE_i = −log softmax(logits_i)[y_i]
 *
 * Balancing (`balance`):
 * - `inverse-sqrt` (default): w_c = size_c^−½, with size_c from `clusterSizes` (the store's
 *   counts, the better estimate) or else the batch's own label counts. Normalising by Σ w keeps
 *   the loss on the scale of a plain mean.
 * - `uniform-sampling`: DeepCluster's own scheme. `count` rows (default: the batch size) are
 *   drawn with replacement, first a pseudo-label uniformly among those present in the batch, then
 *   a row of that label uniformly; the loss is the plain mean CE over the draws. Seeded.
 * - `none`: plain mean.
 *
 * Rows whose pseudo-label is negative (not assigned yet) are ignored; no usable row gives a
 * zero attached to the logits. The log-softmax is tfjs's stable form (max subtracted).
 *
 * The head itself (linear, or cosine against prototypes with a temperature) and how it follows
 * the store's splits, merges and reassignments are in cluster-head.ts.
 *
 * Example: logits [[2, 0], [0, 1], [0, 3]], labels [0, 1, 1], balance none →
 * mean(log(1 + e⁻²), log(1 + e⁻¹), log(1 + e⁻³)) = 0.1697…
 *
 * Reference: M. Caron et al., "Deep Clustering for Unsupervised Learning of Visual Features",
 * ECCV 2018.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from './mulberry32.js';
import { assertRank2, attachedZero, gatherDifferentiable } from './stop-gradient.js';

export type ClassBalance = 'inverse-sqrt' | 'uniform-sampling' | 'none';

export interface DeepClusterOptions {
  balance?: ClassBalance;
  clusterSizes?: ArrayLike<number>;
  /** Draws for `uniform-sampling` (default: the number of usable rows). */
  count?: number;
  seed?: number;
}

export function deepCluster(
  logits: tf.Tensor2D,
  pseudoLabels: ArrayLike<number>,
  options: DeepClusterOptions = {},
): tf.Scalar {
  assertRank2('logits', logits);
  const [n, k] = logits.shape;
  if (pseudoLabels.length !== n) {
    throw new Error(
      `deepCluster: pseudoLabels [${pseudoLabels.length}] must match logits [${logits.shape.join(', ')}]`,
    );
  }
  for (let i = 0; i < n; i++) {
    if ((pseudoLabels[i] as number) >= k) {
      throw new Error(
        `deepCluster: pseudo-label ${pseudoLabels[i]} at row ${i} is out of range for logits [${n}, ${k}]; resize the head when the store adds clusters`,
      );
    }
  }
  const { rows, weights } = rowsAndWeights(pseudoLabels, options);
  return tf.tidy(() => {
    if (rows.length === 0 || k === 0) return attachedZero(logits);
    const picked = gatherDifferentiable(logits, rows);
    const labels = new Int32Array(rows.length);
    for (let r = 0; r < rows.length; r++) labels[r] = pseudoLabels[rows[r] as number] as number;
    const target = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), k), 'float32');
    const ce = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(picked, 1)), 1));
    let weightSum = 0;
    for (const w of weights) weightSum += w;
    return tf.div(tf.sum(tf.mul(ce, tf.tensor1d(weights))), tf.scalar(weightSum)) as tf.Scalar;
  });
}

/** Which rows enter the loss, each with its weight. */
function rowsAndWeights(
  pseudoLabels: ArrayLike<number>,
  options: DeepClusterOptions,
): { rows: Int32Array; weights: Float32Array } {
  const usable: number[] = [];
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < pseudoLabels.length; i++) {
    const y = pseudoLabels[i] as number;
    if (y < 0) continue;
    usable.push(i);
    const list = byLabel.get(y);
    if (list === undefined) byLabel.set(y, [i]);
    else list.push(i);
  }
  const balance = options.balance ?? 'inverse-sqrt';
  if (balance === 'uniform-sampling') {
    const count = options.count ?? usable.length;
    const labels = [...byLabel.keys()].sort((a, b) => a - b);
    const random = mulberry32(options.seed ?? 0);
    const rows = new Int32Array(labels.length === 0 ? 0 : count);
    for (let s = 0; s < rows.length; s++) {
      const members = byLabel.get(
        labels[Math.floor(random() * labels.length)] as number,
      ) as number[];
      rows[s] = members[Math.floor(random() * members.length)] as number;
    }
    return { rows, weights: new Float32Array(rows.length).fill(1) };
  }
  const weights = new Float32Array(usable.length);
  for (let r = 0; r < usable.length; r++) {
    const y = pseudoLabels[usable[r] as number] as number;
    if (balance === 'none') {
      weights[r] = 1;
      continue;
    }
    const storeSize = options.clusterSizes?.[y];
    // A store size of 0 (a cluster just born) would give an infinite weight; the batch count is
    // the only evidence then.
    const size =
      storeSize !== undefined && storeSize > 0 ? storeSize : (byLabel.get(y) as number[]).length;
    weights[r] = 1 / Math.sqrt(size);
  }
  return { rows: Int32Array.from(usable), weights };
}
