import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { reconstruction } from '../../../src/losses/reconstruction.js';
import {
  checkGradient,
  expectAttachedZero,
  expectNoLeak,
  scalarOf,
  useTestBackend,
} from './helpers.js';

beforeAll(useTestBackend);

describe('reconstruction loss', () => {
  const x = [
    [1, 2, 0],
    [0.5, -1, 3],
  ];
  const xHat = [
    [0.5, 2.5, 1],
    [0, 0, 2],
  ];
  const squared = x.flatMap((row, i) =>
    row.map((v, j) => (v - ((xHat[i] as number[])[j] as number)) ** 2),
  );
  const sum = squared.reduce((a, b) => a + b, 0);

  it('is the mean squared error over samples and features, or IDEC’s per-sample sum', () => {
    const mean = tf.tidy(() => scalarOf(reconstruction(tf.tensor2d(x), tf.tensor2d(xHat))));
    expect(Math.abs(mean - sum / 6)).toBeLessThan(1e-6);
    const perSample = tf.tidy(() =>
      scalarOf(reconstruction(tf.tensor2d(x), tf.tensor2d(xHat), { reduction: 'sum-features' })),
    );
    expect(Math.abs(perSample - sum / 2)).toBeLessThan(1e-6);
    expect(
      tf.tidy(() => scalarOf(reconstruction(tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 0]])))),
    ).toBe(2.5);
  });

  it('passes a finite-difference check through the reconstruction', () => {
    const target = tf.tensor2d(x);
    checkGradient((r) => reconstruction(target, r), xHat);
    target.dispose();
  });

  it('returns an attached zero for an empty batch and leaks nothing', () => {
    const empty = tf.zeros([0, 2]) as tf.Tensor2D;
    expectAttachedZero((r) => reconstruction(empty, r), []);
    const [a, b] = [tf.tensor2d(x), tf.tensor2d(xHat)];
    expectNoLeak(() => reconstruction(a, b));
    expectNoLeak(() => tf.grad((t: tf.Tensor) => reconstruction(a, t as tf.Tensor2D))(b));
    tf.dispose([empty, a, b]);
  });

  it('names both shapes when they differ', () => {
    const [a, b] = [tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D];
    expect(() => reconstruction(a, b)).toThrow(/inputs \[2, 3\] and reconstruction \[2, 4\]/);
    tf.dispose([a, b]);
  });
});
