import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kmeans } from '../../../src/losses/kmeans-loss.js';
import {
  checkGradient,
  expectAttachedZero,
  expectNoLeak,
  loadReference,
  ref,
  refMatrix,
  scalarOf,
  useTestBackend,
} from './helpers.js';

beforeAll(useTestBackend);

const reference = loadReference();

describe('kmeans loss', () => {
  it('is the mean squared distance to the nearest centroid (worked example)', () => {
    const v = tf.tidy(() =>
      scalarOf(
        kmeans(
          tf.tensor2d([
            [0, 0],
            [3, 4],
          ]),
          tf.tensor2d([
            [0, 1],
            [3, 0],
          ]),
        ),
      ),
    );
    expect(v).toBe(8.5);
    const s = tf.tidy(() =>
      scalarOf(
        kmeans(
          tf.tensor2d([
            [0, 0],
            [3, 4],
          ]),
          tf.tensor2d([
            [0, 1],
            [3, 0],
          ]),
          { reduction: 'sum' },
        ),
      ),
    );
    expect(s).toBe(17);
  });

  it('matches the numpy reference', () => {
    const v = tf.tidy(() =>
      scalarOf(
        kmeans(
          tf.tensor2d(refMatrix(reference, 'x')),
          tf.tensor2d(refMatrix(reference, 'centroids')),
        ),
      ),
    );
    expect(Math.abs(v - ref(reference, 'kmeans_mean'))).toBeLessThan(1e-5);
  });

  it('passes a finite-difference check, and pulls a point equidistant from two centroids once', () => {
    const centroids = tf.tensor2d([
      [0, 0],
      [2, 0],
      [0, 3],
    ]);
    checkGradient(
      (e) => kmeans(e, centroids),
      [
        [0.3, 0.2],
        [1.7, 0.4],
        [0.2, 2.5],
      ],
    );
    // (1, 0) is at distance 1 from both (0,0) and (2,0): the gradient is that of one term,
    // 2(z − μ₀)/N = (2, 0), not the sum of both (which would cancel to 0).
    const g = tf.tidy(() =>
      tf
        .grad((e: tf.Tensor) => kmeans(e as tf.Tensor2D, centroids))(tf.tensor2d([[1, 0]]))
        .dataSync(),
    );
    expect(Array.from(g)).toEqual([2, 0]);
    centroids.dispose();
  });

  it('sends no gradient into the centroids, even a variable', () => {
    const mu = tf.variable(
      tf.tensor2d([
        [0, 0],
        [2, 2],
      ]),
    );
    const z = tf.tensor2d([[0.5, 0.1]]);
    const { grads } = tf.variableGrads(() => kmeans(z, mu), [mu]);
    expect(Array.from((grads[mu.name] as tf.Tensor).dataSync())).toEqual([0, 0, 0, 0]);
    tf.dispose([mu, z, grads]);
  });

  it('returns an attached zero for an empty batch or no centroid', () => {
    const mu = tf.tensor2d([[1, 1]]);
    expectAttachedZero((e) => kmeans(e, mu), []);
    const none = tf.zeros([0, 2]) as tf.Tensor2D;
    expectAttachedZero((e) => kmeans(e, none), [[0.5, 0.5]]);
    tf.dispose([mu, none]);
  });

  it('leaks no tensor', () => {
    const z = tf.tensor2d(refMatrix(reference, 'x'));
    const mu = tf.tensor2d(refMatrix(reference, 'centroids'));
    expectNoLeak(() => kmeans(z, mu));
    expectNoLeak(() => tf.grad((t: tf.Tensor) => kmeans(t as tf.Tensor2D, mu))(z));
    tf.dispose([z, mu]);
  });

  it('names both shapes on a dim mismatch', () => {
    const [z, mu] = [tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([4, 2]) as tf.Tensor2D];
    expect(() => kmeans(z, mu)).toThrow(/embeddings \[2, 3\] and centroids \[4, 2\]/);
    tf.dispose([z, mu]);
  });
});
