import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { triplet, type TripletOptions } from '../../../src/losses/triplet.js';
import {
  checkGradient,
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
const x = refMatrix(reference, 'x');
const labels = (reference['labels'] as number[]).slice();

function value(embeddings: number[][], l: number[], options: TripletOptions): number {
  return tf.tidy(() => scalarOf(triplet(tf.tensor2d(embeddings), l, options).loss));
}

describe('triplet: published TF-Addons values', () => {
  const e = [
    [0, 1],
    [1, 0],
  ];
  const compat = {
    normalize: false,
    margin: 1,
    emptySets: 'tfa-compat',
    reduction: 'mean',
  } as const;

  it('semi-hard with the farthest-negative fallback gives 1 + √2 = 2.4142137', () => {
    const v = value(e, [0, 0], { ...compat, strategy: 'semi-hard', semiHardFallback: 'farthest' });
    expect(Math.abs(v - (1 + Math.SQRT2))).toBeLessThan(1e-5);
    expect(Math.abs(v - 2.4142137)).toBeLessThan(1e-5);
  });

  it('batch-hard, mean over all anchors, gives 1.0', () => {
    expect(Math.abs(value(e, [0, 0], { ...compat, strategy: 'batch-hard' }) - 1)).toBeLessThan(
      1e-5,
    );
  });

  it('by default the same batch has no negative: no triplet, an attached zero', () => {
    for (const strategy of ['semi-hard', 'batch-hard'] as const) {
      const r = scoped(() => {
        const out = triplet(tf.tensor2d(e), [0, 0], { normalize: false, margin: 1, strategy });
        return { v: scalarOf(out.loss), stats: out.mining };
      });
      expect(Math.abs(r.v)).toBe(0);
      expect(r.stats.found).toBe(0);
      expect(r.stats.droppedFraction).toBe(1);
    }
  });
});

describe('triplet: numpy brute-force reference (margin 0.3, normalised, euclidean)', () => {
  const margin = 0.3;
  const cases: Array<[string, TripletOptions, string]> = [
    ['batch-hard, mean', { strategy: 'batch-hard', reduction: 'mean' }, 'triplet_batch_hard_mean'],
    [
      'batch-hard, soft margin',
      { strategy: 'batch-hard', reduction: 'mean', form: 'soft' },
      'triplet_batch_hard_soft_mean',
    ],
    ['all, mean', { strategy: 'all', reduction: 'mean' }, 'triplet_all_mean'],
    [
      'all, mean over non-zero',
      { strategy: 'all', reduction: 'mean-nonzero' },
      'triplet_all_mean_nonzero',
    ],
    [
      'semi-hard, drop',
      { strategy: 'semi-hard', reduction: 'mean' },
      'triplet_semi_hard_drop_mean',
    ],
    [
      'semi-hard, farthest',
      { strategy: 'semi-hard', reduction: 'mean', semiHardFallback: 'farthest' },
      'triplet_semi_hard_farthest_mean',
    ],
  ];
  for (const [name, options, key] of cases) {
    it(name, () => {
      expect(Math.abs(value(x, labels, { ...options, margin }) - ref(reference, key))).toBeLessThan(
        1e-5,
      );
    });
  }

  it('counts match: all, hard, easy, semi-hard, batch-hard anchors', () => {
    const count = (options: TripletOptions): number =>
      tf.tidy(() => triplet(tf.tensor2d(x), labels, { ...options, margin }).mining.found);
    expect(count({ strategy: 'all' })).toBe(ref(reference, 'triplet_all_count'));
    expect(count({ strategy: 'hard' })).toBe(ref(reference, 'triplet_hard_count'));
    expect(count({ strategy: 'easy' })).toBe(ref(reference, 'triplet_easy_count'));
    expect(count({ strategy: 'semi-hard' })).toBe(ref(reference, 'triplet_semi_hard_drop_count'));
    expect(count({ strategy: 'semi-hard', semiHardFallback: 'farthest' })).toBe(
      ref(reference, 'triplet_semi_hard_farthest_count'),
    );
    expect(count({ strategy: 'batch-hard' })).toBe(ref(reference, 'triplet_batch_hard_anchors'));
  });

  it('hinge terms of easy triplets are all zero; the soft margin is not', () => {
    expect(Math.abs(value(x, labels, { strategy: 'easy', margin, reduction: 'mean' }))).toBe(0);
    expect(value(x, labels, { strategy: 'easy', margin, form: 'soft' })).toBeGreaterThan(0);
  });
});

describe('triplet: gradients, empty cases, leaks', () => {
  // Well-separated points keep every hinge term away from its kink and every mining decision
  // stable under a ±1e-2 perturbation.
  const points = [
    [1.0, 0.1, 0.0],
    [0.8, 0.5, 0.1],
    [0.1, 1.0, 0.2],
    [-0.2, 0.9, -0.4],
    [0.3, -0.2, 1.0],
    [0.0, 0.4, 0.9],
  ];
  const l = [0, 0, 1, 1, 2, 2];

  for (const strategy of ['all', 'batch-hard', 'semi-hard', 'hard'] as const) {
    for (const form of ['hinge', 'soft'] as const) {
      it(`finite differences: ${strategy}, ${form}`, () => {
        checkGradient(
          (e) =>
            triplet(e, l, {
              strategy,
              form,
              margin: 1.5,
              semiHardFallback: 'farthest',
              reduction: 'mean',
            }).loss,
          points,
        );
      });
    }
  }

  it('finite differences at zero distance (anchor and positive coincide)', () => {
    const coincide = [
      [0.2, 0.9, 0.1],
      [0.2, 0.9, 0.1],
      [0.9, -0.3, 0.4],
      [0.7, 0.2, -0.6],
    ];
    // `all` rather than batch-hard: with rows 0 and 1 equal, every other anchor's nearest
    // negative is a tie between them, and a min at a tie is a kink a finite difference cannot
    // check. Margin 3 keeps every hinge term active.
    checkGradient(
      (e) =>
        triplet(e, [0, 0, 1, 1], {
          strategy: 'all',
          normalize: false,
          margin: 3,
          reduction: 'mean',
        }).loss,
      coincide,
    );
    const g = tf.tidy(() =>
      tf
        .grad(
          (e: tf.Tensor) => triplet(e as tf.Tensor2D, [0, 0, 0], { emptySets: 'tfa-compat' }).loss,
        )(
          tf.tensor2d([
            [1, 2],
            [1, 2],
            [1, 2],
          ]),
        )
        .dataSync(),
    );
    for (const v of g) expect(Number.isFinite(v)).toBe(true);
  });

  it('empty cases give a graph-attached zero with zero gradients', () => {
    const three = [
      [0.1, 0.2],
      [0.3, -0.4],
      [0.5, 0.6],
    ];
    for (const strategy of ['all', 'batch-hard', 'semi-hard', 'hard', 'easy'] as const) {
      expectAttachedZero((e) => triplet(e, [0, 1, 2], { strategy }).loss, three);
      expectAttachedZero((e) => triplet(e, [4], { strategy }).loss, [[0.3, 0.1]]);
      expectAttachedZero((e) => triplet(e, [1, 1, 1], { strategy }).loss, three);
    }
    expectAttachedZero((e) => triplet(e, [], {}).loss, []);
    // No semi-hard negative and the drop fallback: an empty miner output.
    expectAttachedZero(
      (e) => triplet(e, [0, 0, 1], { strategy: 'semi-hard', margin: 0.01, normalize: false }).loss,
      [
        [0, 0],
        [0, 1],
        [5, 5],
      ],
    );
  });

  it('leaks no tensor, for every miner and both forms', () => {
    const e = tf.tensor2d(points);
    for (const strategy of ['all', 'batch-hard', 'semi-hard', 'hard', 'easy'] as const) {
      for (const form of ['hinge', 'soft'] as const) {
        expectNoLeak(() => triplet(e, l, { strategy, form }).loss);
        expectNoLeak(() =>
          tf.grad((t: tf.Tensor) => triplet(t as tf.Tensor2D, l, { strategy, form }).loss)(e),
        );
      }
    }
    expectNoLeak(() => triplet(e, [0, 1, 2, 3, 4, 5]).loss);
    e.dispose();
  });

  it('rejects labels that do not match the batch, naming both shapes', () => {
    const e = tf.tensor2d(points);
    expect(() => triplet(e, [0, 1])).toThrow(/labels \[2\] must match embeddings \[6, 3\]/);
    e.dispose();
  });
});
