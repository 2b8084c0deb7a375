import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  headLogits,
  initHead,
  remapHead,
  type ClusterHead,
} from '../../../src/losses/cluster-head.js';
import { deepCluster } from '../../../src/losses/deep-cluster.js';
import {
  checkGradient,
  close,
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
const logits = refMatrix(reference, 'logits');
const pseudo = reference['pseudo'] as number[];
const sizes = Float32Array.from(reference['sizes'] as number[]);

const ce = (row: number[], y: number): number => {
  const m = Math.max(...row);
  return -((row[y] as number) - m - Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)));
};

describe('deepCluster', () => {
  it('matches the numpy reference for each balancing', () => {
    const value = (o: Parameters<typeof deepCluster>[2]): number =>
      tf.tidy(() => scalarOf(deepCluster(tf.tensor2d(logits), pseudo, o)));
    expect(Math.abs(value({ balance: 'none' }) - ref(reference, 'deep_cluster_none'))).toBeLessThan(
      1e-5,
    );
    expect(
      Math.abs(value({ clusterSizes: sizes }) - ref(reference, 'deep_cluster_inverse_sqrt_store')),
    ).toBeLessThan(1e-5);
    expect(Math.abs(value({}) - ref(reference, 'deep_cluster_inverse_sqrt_batch'))).toBeLessThan(
      1e-5,
    );
  });

  it('worked example: plain mean cross-entropy', () => {
    const v = tf.tidy(() =>
      scalarOf(
        deepCluster(
          tf.tensor2d([
            [2, 0],
            [0, 1],
            [0, 3],
          ]),
          [0, 1, 1],
          { balance: 'none' },
        ),
      ),
    );
    const expected =
      (Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(-3))) / 3;
    expect(Math.abs(v - expected)).toBeLessThan(1e-6);
  });

  it('uniform sampling draws labels evenly and averages their cross-entropy', () => {
    const count = 4000;
    const v = tf.tidy(() =>
      scalarOf(
        deepCluster(tf.tensor2d(logits), pseudo, { balance: 'uniform-sampling', count, seed: 5 }),
      ),
    );
    // Expected value of the sampled mean: each label with probability 1/3, then a row of it.
    const byLabel = [0, 1, 2].map((c) =>
      pseudo.flatMap((y, i) => (y === c ? [ce(logits[i] as number[], c)] : [])),
    );
    const expected = byLabel.reduce((s, l) => s + l.reduce((a, b) => a + b, 0) / l.length, 0) / 3;
    expect(Math.abs(v - expected)).toBeLessThan(0.06);
    const again = tf.tidy(() =>
      scalarOf(
        deepCluster(tf.tensor2d(logits), pseudo, { balance: 'uniform-sampling', count, seed: 5 }),
      ),
    );
    expect(again).toBe(v);
  });

  it('ignores unassigned rows and gives an attached zero when none is left', () => {
    const v = tf.tidy(() =>
      scalarOf(
        deepCluster(
          tf.tensor2d([
            [2, 0],
            [0, 1],
          ]),
          [0, -1],
          { balance: 'none' },
        ),
      ),
    );
    expect(Math.abs(v - Math.log1p(Math.exp(-2)))).toBeLessThan(1e-6);
    expectAttachedZero(
      (l) => deepCluster(l, [-1, -1]),
      [
        [1, 2],
        [3, 4],
      ],
    );
    expectAttachedZero((l) => deepCluster(l, []), []);
  });

  it('passes a finite-difference check through the logits', () => {
    checkGradient(
      (l) => deepCluster(l, pseudo, { clusterSizes: sizes }),
      logits.map((r) => r.map((v) => v / 2)),
    );
  });

  it('rejects a pseudo-label outside the head, naming the shapes', () => {
    const l = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => deepCluster(l, [0, 3])).toThrow(
      /pseudo-label 3 at row 1 is out of range for logits \[2, 3\]/,
    );
    expect(() => deepCluster(l, [0])).toThrow(/pseudoLabels \[1\] must match logits \[2, 3\]/);
    l.dispose();
  });

  it('leaks no tensor', () => {
    const l = tf.tensor2d(logits);
    for (const balance of ['inverse-sqrt', 'uniform-sampling', 'none'] as const) {
      expectNoLeak(() => deepCluster(l, pseudo, { balance }));
      expectNoLeak(() =>
        tf.grad((t: tf.Tensor) => deepCluster(t as tf.Tensor2D, pseudo, { balance }))(l),
      );
    }
    l.dispose();
  });
});

describe('cluster head', () => {
  const centroids = [
    [1, 0],
    [0, 2],
    [-3, -1],
  ];
  const points = [
    [0.9, 0.3],
    [0.2, 1.5],
    [-2, -2],
    [0.6, 0.9],
  ];
  const nearest = points.map((p) => {
    const d = centroids.map((c) => (p[0]! - c[0]!) ** 2 + (p[1]! - c[1]!) ** 2);
    return d.indexOf(Math.min(...d));
  });
  const argmax = (rows: number[][]): number[] => rows.map((r) => r.indexOf(Math.max(...r)));
  const dispose = (h: ClusterHead): void =>
    tf.dispose(h.kind === 'linear' ? [h.kernel, h.bias] : [h.prototypes]);

  it('a linear head initialised from the centroids predicts the nearest centroid', () => {
    const head = initHead('linear', tf.tensor2d(centroids));
    const logitsOut = tf.tidy(() => headLogits(tf.tensor2d(points), head).arraySync());
    expect(argmax(logitsOut)).toEqual(nearest);
    dispose(head);
  });

  it('a prototype head gives cosine / temperature', () => {
    const head = initHead('prototype', tf.tensor2d(centroids), 0.5);
    const got = tf.tidy(() => headLogits(tf.tensor2d(points), head).dataSync());
    const expected = points.flatMap((p) =>
      centroids.map(
        (c) =>
          (p[0]! * c[0]! + p[1]! * c[1]!) /
          (Math.hypot(p[0]!, p[1]!) * Math.hypot(c[0]!, c[1]!)) /
          0.5,
      ),
    );
    close(got, expected, 1e-5);
    dispose(head);
  });

  it('follows a merge, a permutation, a birth and a death of store clusters', () => {
    const linear = initHead('linear', tf.tensor2d(centroids));
    const kernel = linear.kind === 'linear' ? linear.kernel.arraySync() : [];
    const bias = linear.kind === 'linear' ? Array.from(linear.bias.dataSync()) : [];
    // New class 0 = old 2; new 1 = merge of old 0 and 1; new 2 = born at (5, 5).
    const born = tf.tensor2d([
      [0, 0],
      [0, 0],
      [5, 5],
    ]);
    const moved = remapHead(linear, [[2], [0, 1], []], born);
    if (moved.kind !== 'linear') throw new Error('kind changed');
    const k2 = moved.kernel.arraySync();
    const b2 = Array.from(moved.bias.dataSync());
    for (let r = 0; r < 2; r++) {
      expect(k2[r]![0]).toBeCloseTo(kernel[r]![2]!, 6);
      expect(k2[r]![1]).toBeCloseTo((kernel[r]![0]! + kernel[r]![1]!) / 2, 6);
      expect(k2[r]![2]).toBeCloseTo(5, 6);
    }
    close(b2, [bias[2]!, (bias[0]! + bias[1]!) / 2, -25], 1e-5);
    const proto = initHead('prototype', tf.tensor2d(centroids), 0.2);
    const split = remapHead(
      proto,
      [[0], [1], []],
      tf.tensor2d([
        [0, 0],
        [0, 0],
        [0, -4],
      ]),
    );
    if (split.kind !== 'prototype') throw new Error('kind changed');
    close(split.prototypes.dataSync(), [1, 0, 0, 1, 0, -1], 1e-6);
    expect(split.temperature).toBe(0.2);
    [linear, moved, proto, split].forEach(dispose);
    born.dispose();
  });

  it('refuses a source out of range, or a new class without a centroid', () => {
    const head = initHead('prototype', tf.tensor2d(centroids));
    expect(() => remapHead(head, [[3]])).toThrow(/names class 3, but the head has 3 classes/);
    expect(() => remapHead(head, [[0], []])).toThrow(/class 1 has no source/);
    dispose(head);
  });
});
