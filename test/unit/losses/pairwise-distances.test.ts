import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  l2Normalize,
  pairwiseDistances,
  safeSqrt,
} from '../../../src/losses/pairwise-distances.js';
import {
  checkGradient,
  close,
  expectNoLeak,
  loadReference,
  refMatrix,
  scalarOf,
  useTestBackend,
} from './helpers.js';

beforeAll(useTestBackend);

const reference = loadReference();
const x = refMatrix(reference, 'x');

describe('pairwiseDistances', () => {
  it('matches the numpy reference for every metric on normalised rows', () => {
    for (const metric of ['euclidean', 'squared', 'cosine'] as const) {
      const d = tf.tidy(() => pairwiseDistances(tf.tensor2d(x), { metric }).arraySync());
      close(d.flat(), refMatrix(reference, `distances_${metric}`).flat(), 2e-6);
    }
  });

  it('computes unnormalised euclidean distances from the formula', () => {
    const points = [
      [0, 1],
      [1, 0],
      [3, 4],
    ];
    const d = tf.tidy(() =>
      pairwiseDistances(tf.tensor2d(points), { normalize: false }).arraySync(),
    );
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const [a, b] = [points[i] as number[], points[j] as number[]];
        const expected = Math.hypot(
          (a[0] as number) - (b[0] as number),
          (a[1] as number) - (b[1] as number),
        );
        expect(Math.abs((d[i] as number[])[j] as number) - expected).toBeLessThan(1e-6);
      }
    }
  });

  it('has an exactly zero diagonal and zero distance between identical rows', () => {
    const d = tf.tidy(() =>
      pairwiseDistances(
        tf.tensor2d([
          [0.3, 0.7, 0.1],
          [0.3, 0.7, 0.1],
          [1, 2, 3],
        ]),
      ).arraySync(),
    );
    expect((d[0] as number[])[0]).toBe(0);
    expect((d[0] as number[])[1]).toBe(0);
    expect((d[2] as number[])[2]).toBe(0);
  });

  it('keeps a zero row finite when normalising', () => {
    const z = tf.tidy(() =>
      l2Normalize(
        tf.tensor2d([
          [0, 0],
          [3, 4],
        ]),
      ).arraySync(),
    );
    expect(z).toEqual([
      [0, 0],
      [0.6000000238418579, 0.800000011920929],
    ]);
  });

  it('has a finite gradient at zero distance for identical embeddings (every metric)', () => {
    const same = [
      [0.5, -0.2, 0.9],
      [0.5, -0.2, 0.9],
      [0.5, -0.2, 0.9],
    ];
    for (const metric of ['euclidean', 'squared', 'cosine'] as const) {
      for (const normalize of [true, false]) {
        const g = tf.tidy(() =>
          tf
            .grad((e: tf.Tensor) =>
              tf.sum(pairwiseDistances(e as tf.Tensor2D, { metric, normalize })),
            )(tf.tensor2d(same))
            .dataSync(),
        );
        for (const v of g)
          expect(Number.isFinite(v), `${metric} normalize=${normalize}`).toBe(true);
      }
    }
  });

  it('passes a finite-difference check for every metric', () => {
    const points = [
      [0.2, 0.5, -0.4],
      [-0.3, 0.8, 0.1],
      [-0.7, 0.1, 0.3],
      [0.9, -0.6, 0.2],
    ];
    const weights = tf.tensor2d([
      [0, 1, 0.5, 2],
      [1, 0, 3, 1],
      [0.5, 3, 0, 0.25],
      [2, 1, 0.25, 0],
    ]);
    for (const metric of ['euclidean', 'squared', 'cosine'] as const) {
      for (const normalize of [true, false]) {
        checkGradient(
          (e) => tf.sum(tf.mul(pairwiseDistances(e, { metric, normalize }), weights)),
          points,
        );
      }
    }
    weights.dispose();
  });

  it('passes a finite-difference check at zero distance (unnormalised euclidean)', () => {
    // Rows 0 and 1 coincide: their entry is exactly |h| under a perturbation, whose symmetric
    // difference is 0, which is what the masked gradient must give.
    const points = [
      [0.2, 0.5, -0.4],
      [0.2, 0.5, -0.4],
      [-0.7, 0.1, 0.3],
    ];
    const weights = tf.tensor2d([
      [0, 2, 0.5],
      [2, 0, 3],
      [0.5, 3, 0],
    ]);
    checkGradient(
      (e) => tf.sum(tf.mul(pairwiseDistances(e, { normalize: false }), weights)),
      points,
    );
    weights.dispose();
  });

  it('gives the zero-distance entry a zero gradient under normalisation', () => {
    // The coinciding pair's weight must not change the gradient at all.
    const points = tf.tensor2d([
      [0.2, 0.5, -0.4],
      [0.2, 0.5, -0.4],
      [-0.7, 0.1, 0.3],
    ]);
    const gradientWith = (w01: number): number[] =>
      tf.tidy(() => {
        const w = tf.tensor2d([
          [0, w01, 0.5],
          [w01, 0, 3],
          [0.5, 3, 0],
        ]);
        const g = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(pairwiseDistances(e as tf.Tensor2D), w)));
        return Array.from(g(points).dataSync());
      });
    const base = gradientWith(0);
    expect(base.some((v) => v !== 0)).toBe(true);
    expect(gradientWith(5)).toEqual(base);
    points.dispose();
  });

  it('safeSqrt gives zero value and zero gradient at zero', () => {
    const { value, grad } = tf.valueAndGrad((v: tf.Tensor) => tf.sum(safeSqrt(v)))(
      tf.tensor1d([0, 4]),
    );
    expect(scalarOf(value)).toBe(2);
    expect(Array.from(grad.dataSync())).toEqual([0, 0.25]);
    tf.dispose([value, grad]);
  });

  it('leaks no tensor', () => {
    const e = tf.tensor2d(x);
    expectNoLeak(() => pairwiseDistances(e));
    expectNoLeak(() => tf.grad((t: tf.Tensor) => tf.sum(pairwiseDistances(t as tf.Tensor2D)))(e));
    e.dispose();
  });

  it('names the shape in its error', () => {
    const v = tf.tensor1d([1, 2]);
    expect(() => pairwiseDistances(v as unknown as tf.Tensor2D)).toThrow(/got shape \[2\]/);
    v.dispose();
  });
});
