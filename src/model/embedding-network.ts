/**
 * The embedding network: an MLP from the decoded features to an L2-normalised embedding.
 * Initialisation is seeded (every layer gets its own seed derived from `spec.seed`), so the
 * same configuration gives the same weights on every backend.
 */
import * as tf from '@tensorflow/tfjs';

import type { ModelSpec } from './protocol.js';

export function buildEmbeddingNetwork(spec: ModelSpec): tf.Sequential {
  const model = tf.sequential({ name: 'embedding' });
  const widths = [...spec.hiddenLayers, spec.embeddingDim];
  widths.forEach((units, index) => {
    const last = index === widths.length - 1;
    model.add(
      tf.layers.dense({
        units,
        ...(index === 0 ? { inputShape: [spec.inputDim] } : {}),
        activation: last ? 'linear' : spec.activation,
        kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed + index * 7919 }),
        biasInitializer: 'zeros',
        name: `dense_${index}`,
      }),
    );
  });
  return model;
}

/**
 * The decoder of the reconstruction loss (IDEC/DCN's guard against collapse): the encoder's
 * hidden widths in reverse, from the raw (unnormalised) embedding back to the features.
 */
export function buildDecoder(spec: ModelSpec): tf.Sequential {
  const model = tf.sequential({ name: 'decoder' });
  const widths = [...[...spec.hiddenLayers].reverse(), spec.inputDim];
  widths.forEach((units, index) => {
    const last = index === widths.length - 1;
    model.add(
      tf.layers.dense({
        units,
        ...(index === 0 ? { inputShape: [spec.embeddingDim] } : {}),
        activation: last ? 'linear' : spec.activation,
        kernelInitializer: tf.initializers.glorotUniform({
          seed: spec.seed + 104_729 + index * 7919,
        }),
        biasInitializer: 'zeros',
        name: `decoder_dense_${index}`,
      }),
    );
  });
  return model;
}

/** Row-wise L2 normalisation with an epsilon, so a zero row maps to zero instead of NaN. */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12));
    return tf.div(x, norm) as tf.Tensor2D;
  });
}
