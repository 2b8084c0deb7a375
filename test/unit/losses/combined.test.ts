import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusteringLoss, type ClusteringLossInputs } from '../../../src/losses/combined.js';
import { lossesConfigSchema } from '../../../src/losses/config.js';
import { contrastive } from '../../../src/losses/contrastive.js';
import { deepCluster } from '../../../src/losses/deep-cluster.js';
import { kmeans } from '../../../src/losses/kmeans-loss.js';
import { ntXent } from '../../../src/losses/nt-xent.js';
import { l2Normalize } from '../../../src/losses/pairwise-distances.js';
import { reconstruction } from '../../../src/losses/reconstruction.js';
import { softCluster } from '../../../src/losses/soft-cluster.js';
import { triplet } from '../../../src/losses/triplet.js';
import {
  checkGradient,
  expectNoLeak,
  loadReference,
  refMatrix,
  scalarOf,
  useTestBackend,
} from './helpers.js';

beforeAll(useTestBackend);

/**
 * The margin configuration these tests were written for (triplet over pseudo-labels plus a
 * k-means pull, reconstruction as the guard): the defaults before NT-Xent over neighbour pairs
 * became the default objective. Overrides apply per loss section.
 */
function marginLosses(overrides: Record<string, Record<string, unknown>> = {}) {
  const base: Record<string, Record<string, unknown>> = {
    positives: { source: 'pseudo' },
    ntXent: { weight: 0 },
    triplet: { weight: 1 },
    kmeans: { weight: 0.1 },
  };
  const merged = { ...base };
  for (const [key, value] of Object.entries(overrides)) merged[key] = { ...base[key], ...value };
  return lossesConfigSchema.parse(merged);
}

const reference = loadReference();
const x = refMatrix(reference, 'x');
const labels = Int32Array.from(reference['labels'] as number[]);
const pseudo = Int32Array.from(reference['pseudo'] as number[]);
const everything = marginLosses({
  contrastive: { weight: 0.7 },
  triplet: { weight: 1.3, margin: 0.3 },
  kmeans: { weight: 0.2 },
  softCluster: { weight: 0.4 },
  deepCluster: { weight: 0.9 },
  reconstruction: { weight: 0.05 },
});

function inputs(): ClusteringLossInputs {
  return {
    embeddings: tf.tensor2d(x),
    labels,
    centroids: l2Normalize(tf.tensor2d(refMatrix(reference, 'centroids'))),
    inputs: tf.tensor2d(x.map((r) => r.map((v) => v + 1))),
    reconstruction: tf.tensor2d(x),
    headLogits: tf.tensor2d(refMatrix(reference, 'logits')),
    pseudoLabels: pseudo,
  };
}

describe('clusteringLoss', () => {
  it('is the weighted sum of the separately computed losses on normalised embeddings', () => {
    tf.tidy(() => {
      const i = inputs();
      const r = clusteringLoss(i, everything);
      const z = l2Normalize(i.embeddings);
      const expected = {
        contrastive: scalarOf(contrastive(z, labels, { normalize: false }).loss),
        triplet: scalarOf(triplet(z, labels, { normalize: false, margin: 0.3 }).loss),
        kmeans: scalarOf(kmeans(z, i.centroids!)),
        softCluster: scalarOf(softCluster(z, i.centroids!).loss),
        deepCluster: scalarOf(deepCluster(i.headLogits!, pseudo)),
        reconstruction: scalarOf(reconstruction(i.inputs!, i.reconstruction!)),
      };
      const weights = {
        contrastive: 0.7,
        triplet: 1.3,
        kmeans: 0.2,
        softCluster: 0.4,
        deepCluster: 0.9,
        reconstruction: 0.05,
      };
      let total = 0;
      for (const [name, v] of Object.entries(expected)) {
        const key = name as keyof typeof expected;
        expect(Math.abs((r.values[key] as number) - v), name).toBeLessThan(1e-6);
        expect(Math.abs(scalarOf(r.parts[key]!) - v), name).toBeLessThan(1e-6);
        total += weights[key] * v;
      }
      expect(Math.abs(scalarOf(r.total) - total)).toBeLessThan(1e-5);
      expect(r.mining.triplet?.found).toBeGreaterThan(0);
      expect(r.mining.pair?.found).toBe(66);
      expect(r.state.softFrequencies?.length).toBe(3);
    });
  });

  it('only computes the losses that are on (margin configuration: triplet, k-means, reconstruction)', () => {
    tf.tidy(() => {
      const r = clusteringLoss(inputs(), marginLosses());
      expect(Object.keys(r.parts).sort()).toEqual(['kmeans', 'reconstruction', 'triplet']);
      expect(r.mining.pair).toBeUndefined();
    });
  });

  it('computes NT-Xent alone by default, and only over paired rows', () => {
    tf.tidy(() => {
      const defaults = lossesConfigSchema.parse({});
      const paired = tf.tensor2d(x.slice(0, 4));
      const r = clusteringLoss({ embeddings: paired, paired: true }, defaults);
      expect(Object.keys(r.parts)).toEqual(['ntXent']);
      expect(r.values.ntXent).toBeCloseTo(scalarOf(ntXent(paired, { temperature: 0.5 })), 6);
      expect(() => clusteringLoss({ embeddings: paired }, defaults)).toThrow(
        'losses.ntXent.weight > 0 needs paired rows (losses.positives.source: neighbours or views); set one of those sources or losses.ntXent.weight: 0',
      );
    });
  });

  it('carries the soft clustering state through the caller', () => {
    tf.tidy(() => {
      const config = marginLosses({
        triplet: { weight: 0 },
        kmeans: { weight: 0 },
        softCluster: { weight: 1 },
        reconstruction: { weight: 0 },
      });
      const first = clusteringLoss(inputs(), config);
      const prior = Float32Array.from([0.6, 0.3, 0.1]);
      const second = clusteringLoss(inputs(), config, { softFrequencies: prior });
      const batch = first.state.softFrequencies!;
      const expected = Array.from(batch, (b, j) => 0.9 * prior[j]! + 0.1 * b);
      Array.from(second.state.softFrequencies!).forEach((v, j) =>
        expect(Math.abs(v - expected[j]!)).toBeLessThan(1e-6),
      );
      expect(Array.from(prior)).toEqual([
        0.6000000238418579, 0.30000001192092896, 0.10000000149011612,
      ]);
    });
  });

  it('names the missing input and the key that turns its loss off', () => {
    const e = tf.tensor2d(x);
    expect(() => clusteringLoss({ embeddings: e }, marginLosses())).toThrow(
      'losses.triplet.weight > 0 needs inputs.labels, which is missing; provide it or set losses.triplet.weight: 0',
    );
    expect(() => clusteringLoss({ embeddings: e, labels }, marginLosses())).toThrow(
      /inputs.centroids/,
    );
    e.dispose();
  });

  it('gives an attached zero when nothing is on, or when no triplet exists', () => {
    const none = marginLosses({ triplet: { weight: 0 }, kmeans: { weight: 0 } });
    const distinct = marginLosses({ kmeans: { weight: 0 } });
    for (const [config, l] of [
      [none, labels],
      [distinct, Int32Array.from(x.map((_, i) => i))],
    ] as const) {
      const e = tf.variable(tf.tensor2d(x));
      const { value, grads } = tf.variableGrads(
        () => clusteringLoss({ embeddings: e, labels: l }, config).total,
        [e],
      );
      expect(Math.abs(scalarOf(value))).toBe(0);
      expect(Array.from((grads[e.name] as tf.Tensor).dataSync()).every((v) => v === 0)).toBe(true);
      tf.dispose([e, value, grads]);
    }
  });

  it('passes a finite-difference check of the total through the embeddings', () => {
    const config = marginLosses({
      contrastive: { weight: 0.5, margin: 2.5 },
      triplet: { weight: 1, margin: 2.5, miner: 'all', reduction: 'mean' },
      kmeans: { weight: 0.3 },
      reconstruction: { weight: 0 },
    });
    const centroids = tf.tensor2d([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    checkGradient(
      (e) =>
        clusteringLoss({ embeddings: e, labels: Int32Array.from([0, 0, 1, 1]), centroids }, config)
          .total,
      [
        [1.0, 0.2, 0.1],
        [0.7, 0.6, 0.0],
        [0.1, 1.0, 0.3],
        [-0.2, 0.8, 0.9],
      ],
    );
    centroids.dispose();
  });

  it('leaks no tensor inside a real optimiser step', () => {
    const i = inputs();
    const w = tf.variable(tf.randomNormal([5, 5], 0, 0.5, 'float32', 1));
    const optimizer = tf.train.adam(0.01);
    let state = {};
    const step = (): tf.TensorContainer => {
      optimizer.minimize(() => {
        const r = clusteringLoss(
          { ...i, embeddings: tf.matMul(i.embeddings, w) as tf.Tensor2D },
          everything,
          state,
        );
        state = r.state;
        return r.total;
      });
      return [];
    };
    expectNoLeak(step);
    optimizer.dispose();
    tf.dispose([w, i.embeddings, i.centroids!, i.inputs!, i.reconstruction!, i.headLogits!]);
  });
});
