/**
 * The classification head the deep clustering loss trains, and how it follows the centroid
 * store when clusters change.
 *
 * Kinds:
 * - `linear`: logits = z·W + b, W [dim, k], b [k].
 * - `prototype`: logits = cos(z, w_j) / T, w_j the rows of P [k, dim], T the temperature (> 0,
 *   typically 0.05–0.5; smaller is sharper). Bounded logits make it harder for one cluster to
 *   win every row by growing its weight norm.
 *
 * Both are initialised from the store's centroids so that, before any training, the head
 * predicts the store's own assignment: a prototype head takes the normalised centroids (exact
 * for L2-normalised embeddings); a linear head takes W = μᵀ, b = −||μ||²/2, because
 * argmax_j (z·μ_j − ||μ_j||²/2) = argmin_j ||z − μ_j||².
 *
 * Following the store (`remapHead`): the store's cluster ids change by split, merge, death or
 * reassignment, and a head whose class j no longer means cluster j teaches the network the wrong
 * thing. `sources[j]` lists the old head classes that new class j inherits:
 * - unchanged or moved id: `[old]`;
 * - merge of a and b: `[a, b]` (their weights are averaged; a prototype is renormalised);
 * - split of p into p and c: `[p]` for p and `[]` for c, so c starts from its own centroid
 *   (copying p twice would give two identical classes that never separate);
 * - a born cluster: `[]`; a dead cluster: not listed.
 * An empty source list needs `centroids` (the store's new snapshot, [newK, dim]).
 *
 * All functions return new tensors and keep nothing; the caller owns the variables (a k that
 * changes needs new variables, since a tf.Variable cannot change shape) and disposes old ones.
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize } from './pairwise-distances.js';
import { assertRank2 } from './stop-gradient.js';

export type ClusterHead =
  | { kind: 'linear'; kernel: tf.Tensor2D; bias: tf.Tensor1D }
  | { kind: 'prototype'; prototypes: tf.Tensor2D; temperature: number };

export type HeadKind = ClusterHead['kind'];

export function headLogits(embeddings: tf.Tensor2D, head: ClusterHead): tf.Tensor2D {
  assertRank2('embeddings', embeddings);
  return tf.tidy(() => {
    if (head.kind === 'linear') {
      return tf.add(tf.matMul(embeddings, head.kernel), head.bias) as tf.Tensor2D;
    }
    const cos = tf.matMul(l2Normalize(embeddings), l2Normalize(head.prototypes), false, true);
    return tf.div(cos, tf.scalar(head.temperature)) as tf.Tensor2D;
  });
}

/** A head that reproduces nearest-centroid assignment; centroids [k, dim]. */
export function initHead(kind: HeadKind, centroids: tf.Tensor2D, temperature = 0.1): ClusterHead {
  assertRank2('centroids', centroids);
  if (kind === 'prototype') {
    if (!(temperature > 0))
      throw new Error(`initHead: temperature must be > 0, got ${temperature}`);
    return { kind, prototypes: l2Normalize(centroids), temperature };
  }
  return tf.tidy(() => ({
    kind,
    kernel: tf.transpose(centroids) as tf.Tensor2D,
    bias: tf.mul(tf.sum(tf.square(centroids), 1), tf.scalar(-0.5)) as tf.Tensor1D,
  }));
}

export function remapHead(
  head: ClusterHead,
  sources: ReadonlyArray<ReadonlyArray<number>>,
  centroids?: tf.Tensor2D,
): ClusterHead {
  const oldK = head.kind === 'linear' ? head.kernel.shape[1] : head.prototypes.shape[0];
  sources.forEach((list, j) => {
    for (const s of list) {
      if (!Number.isInteger(s) || s < 0 || s >= oldK) {
        throw new Error(
          `remapHead: sources[${j}] names class ${s}, but the head has ${oldK} classes`,
        );
      }
    }
    if (list.length === 0 && (centroids === undefined || j >= centroids.shape[0])) {
      throw new Error(
        `remapHead: class ${j} has no source, so it needs centroids with at least ${j + 1} rows`,
      );
    }
  });
  return tf.tidy(() => {
    const fresh =
      centroids === undefined ? undefined : initHead(head.kind, centroids, temperatureOf(head));
    const rows = (old: tf.Tensor2D, init: tf.Tensor2D | undefined): tf.Tensor2D =>
      tf.stack(
        sources.map((list, j) =>
          list.length === 0
            ? tf.squeeze(tf.slice(init as tf.Tensor2D, [j, 0], [1, -1]), [0])
            : tf.mean(tf.gather(old, tf.tensor1d(Int32Array.from(list), 'int32')), 0),
        ),
      ) as tf.Tensor2D;
    if (head.kind === 'prototype') {
      const init = fresh?.kind === 'prototype' ? fresh.prototypes : undefined;
      return {
        kind: 'prototype',
        prototypes: l2Normalize(rows(head.prototypes, init)),
        temperature: head.temperature,
      };
    }
    const init = fresh?.kind === 'linear' ? fresh : undefined;
    // Columns of the kernel are the classes: remap its transpose as rows, with the bias beside it.
    const packed = tf.concat(
      [tf.transpose(head.kernel), tf.expandDims(head.bias, 1)],
      1,
    ) as tf.Tensor2D;
    const initPacked =
      init === undefined
        ? undefined
        : (tf.concat([tf.transpose(init.kernel), tf.expandDims(init.bias, 1)], 1) as tf.Tensor2D);
    const remapped = rows(packed, initPacked);
    const dim = head.kernel.shape[0];
    return {
      kind: 'linear',
      kernel: tf.transpose(tf.slice(remapped, [0, 0], [-1, dim])) as tf.Tensor2D,
      bias: tf.squeeze(tf.slice(remapped, [0, dim], [-1, 1]), [1]) as tf.Tensor1D,
    };
  });
}

function temperatureOf(head: ClusterHead): number {
  return head.kind === 'prototype' ? head.temperature : 0.1;
}
