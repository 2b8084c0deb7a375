import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  contrastive,
  contrastiveTerms,
  type ContrastiveOptions,
} from '../../../src/losses/contrastive.js';
import { reduceTerms } from '../../../src/losses/reduce-terms.js';
import {
  checkGradient,
  close,
  expectAttachedZero,
  expectNoLeak,
  loadReference,
  ref,
  refMatrix,
  scalarOf,
  scoped,
  useTestBackend,
} from './helpers.js';

beforeAll(useTestBackend);

const reference = loadReference();

// Published pair-level values; y = 1 means similar.
const y = [0, 0, 1, 1, 0, 1];
const dist = [0.1, 0.3, 1.3, 0.7, 1.1, 0.5];

/** The formula in plain JS: y·d² + (1 − y)·max(m − d, 0)². */
const term = (yi: number, di: number, m: number): number =>
  yi * di * di + (1 - yi) * Math.max(m - di, 0) ** 2;

describe('contrastive: published pair-level values', () => {
  it('margin 1: per-pair [0.81, 0.49, 1.69, 0.49, 0, 0.25], mean 0.621666', () => {
    const terms = tf.tidy(() =>
      contrastiveTerms(tf.tensor1d(dist), tf.tensor1d(y), { margin: 1 }).dataSync(),
    );
    close(terms, [0.81, 0.49, 1.69, 0.49, 0, 0.25]);
    close(
      terms,
      y.map((yi, i) => term(yi, dist[i] as number, 1)),
    );
    const mean = tf.tidy(() => scalarOf(reduceTerms(tf.tensor1d(terms), 'mean', tf.scalar(0))));
    expect(Math.abs(mean - 0.621666)).toBeLessThan(1e-5);
  });

  it('margin 2: mean 1.623333', () => {
    const mean = tf.tidy(() =>
      scalarOf(
        reduceTerms(
          contrastiveTerms(tf.tensor1d(dist), tf.tensor1d(y), { margin: 2 }),
          'mean',
          tf.scalar(0),
        ),
      ),
    );
    const expected = y.reduce((s, yi, i) => s + term(yi, dist[i] as number, 2), 0) / y.length;
    expect(Math.abs(mean - 1.623333)).toBeLessThan(1e-5);
    expect(Math.abs(mean - expected)).toBeLessThan(1e-6);
  });

  it('mean over non-zero terms divides by the five non-zero terms', () => {
    const v = tf.tidy(() =>
      scalarOf(
        reduceTerms(
          contrastiveTerms(tf.tensor1d(dist), tf.tensor1d(y)),
          'mean-nonzero',
          tf.scalar(0),
        ),
      ),
    );
    expect(Math.abs(v - 3.73 / 5)).toBeLessThan(1e-6);
  });

  it('pos-neg-margin form: similar pairs inside m₊ cost nothing; m₊ = 0 is the hadsell form', () => {
    const terms = tf.tidy(() =>
      contrastiveTerms(tf.tensor1d(dist), tf.tensor1d(y), {
        form: 'pos-neg-margin',
        posMargin: 0.6,
        negMargin: 1.2,
      }).dataSync(),
    );
    const expected = y.map((yi, i) => {
      const di = dist[i] as number;
      return yi * Math.max(di - 0.6, 0) ** 2 + (1 - yi) * Math.max(1.2 - di, 0) ** 2;
    });
    close(terms, expected);
    const same = tf.tidy(() =>
      contrastiveTerms(tf.tensor1d(dist), tf.tensor1d(y), {
        form: 'pos-neg-margin',
        negMargin: 1,
      }).dataSync(),
    );
    close(same, [0.81, 0.49, 1.69, 0.49, 0, 0.25]);
  });

  it('names both shapes when d and y differ in length', () => {
    const [a, b] = [tf.tensor1d([1, 2]), tf.tensor1d([1])];
    expect(() => contrastiveTerms(a, b)).toThrow(/d \[2\] and similar \[1\]/);
    tf.dispose([a, b]);
  });
});

describe('contrastive over a batch', () => {
  it('matches the numpy reference (all pairs, margin 0.8, normalised euclidean)', () => {
    const r = tf.tidy(() => {
      const out = contrastive(
        tf.tensor2d(refMatrix(reference, 'x')),
        reference['labels'] as number[],
        {
          margin: ref(reference, 'contrastive_margin'),
        },
      );
      return { v: scalarOf(out.loss), found: out.mining.found };
    });
    expect(Math.abs(r.v - ref(reference, 'contrastive_all_mean'))).toBeLessThan(1e-5);
    expect(r.found).toBe(ref(reference, 'contrastive_pairs'));
  });

  it('hard pairs keep the sum and average over the violating pairs only', () => {
    const e = refMatrix(reference, 'x');
    const l = reference['labels'] as number[];
    const sum = (o: ContrastiveOptions): number =>
      tf.tidy(() =>
        scalarOf(contrastive(tf.tensor2d(e), l, { ...o, margin: 0.8, reduction: 'sum' }).loss),
      );
    expect(Math.abs(sum({ strategy: 'hard' }) - sum({ strategy: 'all' }))).toBeLessThan(1e-5);
    const hard = scoped(
      () => contrastive(tf.tensor2d(e), l, { strategy: 'hard', margin: 0.8 }).mining,
    );
    expect(hard.found).toBe(hard.active);
    expect(hard.found).toBeLessThan(ref(reference, 'contrastive_pairs'));
  });

  const points = [
    [1.0, 0.1, 0.0],
    [0.8, 0.5, 0.1],
    [0.1, 1.0, 0.2],
    [-0.2, 0.9, -0.4],
    [0.3, -0.2, 1.0],
  ];
  const l = [0, 0, 1, 1, 2];

  it('passes a finite-difference check for both forms and every metric', () => {
    for (const metric of ['euclidean', 'squared', 'cosine'] as const) {
      for (const form of ['hadsell', 'pos-neg-margin'] as const) {
        checkGradient(
          (e) =>
            contrastive(e, l, { metric, form, margin: 2.5, posMargin: 0.05, negMargin: 2.5 }).loss,
          points,
        );
      }
    }
  });

  it('has a finite, correct gradient at zero distance', () => {
    checkGradient(
      (e) => contrastive(e, [0, 0, 1], { normalize: false, margin: 3 }).loss,
      [
        [0.4, 0.2],
        [0.4, 0.2],
        [-0.5, 0.9],
      ],
    );
  });

  it('one sample gives a graph-attached zero; an empty batch too', () => {
    expectAttachedZero((e) => contrastive(e, [3]).loss, [[0.2, 0.3]]);
    expectAttachedZero((e) => contrastive(e, []).loss, []);
  });

  it('all labels distinct still gives the dissimilar-pair loss', () => {
    const v = tf.tidy(() =>
      scalarOf(
        contrastive(
          tf.tensor2d([
            [0, 0],
            [0.6, 0.8],
          ]),
          [0, 1],
          { normalize: false },
        ).loss,
      ),
    );
    expect(Math.abs(v)).toBeLessThan(1e-10); // d = 1 = margin: no push left
    const w = tf.tidy(() =>
      scalarOf(
        contrastive(
          tf.tensor2d([
            [0, 0],
            [0.3, 0.4],
          ]),
          [0, 1],
          { normalize: false },
        ).loss,
      ),
    );
    expect(Math.abs(w - 0.25)).toBeLessThan(1e-6);
  });

  it('leaks no tensor', () => {
    const e = tf.tensor2d(points);
    for (const strategy of ['all', 'hard'] as const) {
      expectNoLeak(() => contrastive(e, l, { strategy }).loss);
      expectNoLeak(() =>
        tf.grad((t: tf.Tensor) => contrastive(t as tf.Tensor2D, l, { strategy }).loss)(e),
      );
    }
    e.dispose();
  });
});
