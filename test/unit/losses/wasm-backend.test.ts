/**
 * Every loss must train on the wasm backend too (a production backend choice), whose kernel set
 * is smaller than cpu's: gather's stock gradient, for one, needs a kernel wasm lacks. Each
 * loss's gradient is computed on cpu and on wasm and compared.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { clusteringLoss } from '../../../src/losses/combined.js';
import { lossesConfigSchema } from '../../../src/losses/config.js';
import { gatherDifferentiable } from '../../../src/losses/stop-gradient.js';
import { close, loadReference, refMatrix } from './helpers.js';

const reference = loadReference();
const x = refMatrix(reference, 'x');
const labels = Int32Array.from(reference['labels'] as number[]);
const pseudo = Int32Array.from(reference['pseudo'] as number[]);

const configs = {
  contrastive: { contrastive: { weight: 1, margin: 0.8 } },
  'triplet batch-hard': { triplet: { weight: 1, margin: 0.3 } },
  'triplet all, soft': { triplet: { weight: 1, miner: 'all', form: 'soft' } },
  'triplet semi-hard': { triplet: { weight: 1, miner: 'semi-hard', semiHardFallback: 'farthest' } },
  kmeans: { kmeans: { weight: 1 } },
  'soft clustering': { softCluster: { weight: 1 } },
  'soft clustering, sinkhorn': { softCluster: { weight: 1, target: 'sinkhorn' } },
  'deep clustering': { deepCluster: { weight: 1 } },
  reconstruction: { reconstruction: { weight: 1, auto: false } },
} as const;

function gradients(): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, overrides] of Object.entries(configs)) {
    const config = lossesConfigSchema.parse({
      ntXent: { weight: 0 },
      triplet: { weight: 0 },
      kmeans: { weight: 0 },
      reconstruction: { weight: 0 },
      ...overrides,
    });
    out[name] = tf.tidy(() => {
      const e = tf.tensor2d(x);
      const w = tf.tensor2d(refMatrix(reference, 'logits')).slice([0, 0], [5, 3]);
      const grad = tf.grad((t: tf.Tensor) => {
        const z = t as tf.Tensor2D;
        return clusteringLoss(
          {
            embeddings: z,
            labels,
            centroids: tf.tensor2d(refMatrix(reference, 'centroids')),
            inputs: tf.onesLike(z),
            reconstruction: tf.mul(z, 2),
            headLogits: tf.matMul(z, w),
            pseudoLabels: pseudo,
          },
          config,
        ).total;
      });
      return grad(e).dataSync() as Float32Array;
    });
  }
  return out;
}

describe('losses on the wasm backend', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('give the same gradients as on cpu', async () => {
    await tf.setBackend('cpu');
    const cpu = gradients();
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    const wasm = gradients();
    for (const name of Object.keys(configs)) {
      expect(
        cpu[name]!.some((v) => v !== 0),
        name,
      ).toBe(true);
      close(wasm[name]!, cpu[name]!, 1e-4);
    }
  });

  it('gatherDifferentiable sums the gradient of repeated indices', async () => {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const g = tf.tidy(() =>
        tf
          .grad((t: tf.Tensor) =>
            tf.sum(
              tf.mul(
                gatherDifferentiable(t, Int32Array.from([2, 0, 2])),
                tf.tensor1d([1, 10, 100]),
              ),
            ),
          )(tf.tensor1d([5, 6, 7, 8]))
          .dataSync(),
      );
      expect(Array.from(g), backend).toEqual([10, 0, 101, 0]);
    }
  });
});
