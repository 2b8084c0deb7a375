import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mine, type MinedTriplets } from '../../../src/losses/mine.js';
import { minePairs } from '../../../src/losses/mine-pairs.js';
import { useTestBackend } from './helpers.js';

beforeAll(useTestBackend);

const triples = (m: MinedTriplets): number[][] =>
  Array.from(m.anchors, (a, i) => [a, m.positives[i] as number, m.negatives[i] as number]);

// A hand-worked batch: labels [0, 0, 1, 1] with these distances, margin 0.15.
const labels = [0, 0, 1, 1];
const d = Float32Array.from(
  [
    [0, 0.5, 0.3, 0.9],
    [0.5, 0, 0.8, 0.6],
    [0.3, 0.8, 0, 0.4],
    [0.9, 0.6, 0.4, 0],
  ].flat(),
);
const margin = 0.15;

describe('mine (hand-worked batch)', () => {
  it('batch-hard: farthest positive and nearest negative per anchor', () => {
    const m = mine(d, labels, { strategy: 'batch-hard', margin });
    expect(triples(m)).toEqual([
      [0, 1, 2],
      [1, 0, 3],
      [2, 3, 0],
      [3, 2, 1],
    ]);
    // Hinge terms 0.35, 0.05, 0.25, −0.05: three active.
    expect(m.stats).toEqual({
      candidates: 4,
      found: 4,
      active: 3,
      anchors: 4,
      anchorsDropped: 0,
      droppedFraction: 0,
    });
  });

  it('semi-hard with the drop fallback keeps only pairs with a negative in (d_ap, d_ap + m)', () => {
    const m = mine(d, labels, { strategy: 'semi-hard', margin });
    expect(triples(m)).toEqual([[1, 0, 3]]);
    expect(m.stats.anchorsDropped).toBe(3);
    expect(m.stats.droppedFraction).toBe(0.75);
    expect(m.stats.candidates).toBe(4);
  });

  it('semi-hard with the farthest fallback takes the farthest negative instead', () => {
    const m = mine(d, labels, { strategy: 'semi-hard', margin, semiHardFallback: 'farthest' });
    expect(triples(m)).toEqual([
      [0, 1, 3],
      [1, 0, 3],
      [2, 3, 1],
      [3, 2, 0],
    ]);
    expect(m.stats.anchorsDropped).toBe(0);
  });

  it('hard: every triplet with d_an < d_ap', () => {
    expect(triples(mine(d, labels, { strategy: 'hard', margin }))).toEqual([
      [0, 1, 2],
      [2, 3, 0],
    ]);
  });

  it('easy: every triplet with d_an > d_ap + margin, none of them active', () => {
    const m = mine(d, labels, { strategy: 'easy', margin });
    expect(triples(m)).toEqual([
      [0, 1, 3],
      [1, 0, 2],
      [2, 3, 1],
      [3, 2, 1],
      [3, 2, 0],
    ]);
    expect(m.stats.active).toBe(0);
  });

  it('all: every valid triplet, each exactly once', () => {
    const m = mine(d, labels, { strategy: 'all', margin });
    const got = triples(m)
      .map((t) => t.join(','))
      .sort();
    expect(got).toEqual(['0,1,2', '0,1,3', '1,0,2', '1,0,3', '2,3,0', '2,3,1', '3,2,0', '3,2,1']);
    expect(m.stats.candidates).toBe(8);
  });

  it('all: past maxTriplets, samples valid triplets reproducibly and reports the full count', () => {
    const a = mine(d, labels, { strategy: 'all', maxTriplets: 5, seed: 3 });
    const b = mine(d, labels, { strategy: 'all', maxTriplets: 5, seed: 3 });
    expect(a.stats.found).toBe(5);
    expect(a.stats.candidates).toBe(8);
    expect(triples(a)).toEqual(triples(b));
    for (const [x, p, n] of triples(a) as Array<[number, number, number]>) {
      expect(labels[x]).toBe(labels[p]);
      expect(x).not.toBe(p);
      expect(labels[x]).not.toBe(labels[n]);
    }
  });

  it('reads a distance tensor as well as raw values', () => {
    const t = tf.tensor2d(d, [4, 4]);
    expect(triples(mine(t, labels, { margin }))).toEqual(triples(mine(d, labels, { margin })));
    t.dispose();
  });

  it('rejects distances whose shape does not match the labels, naming both', () => {
    const t = tf.tensor2d(d, [4, 4]);
    expect(() => mine(t, [0, 1, 1])).toThrow(/\[4, 4\] must be \[3, 3\]/);
    t.dispose();
  });
});

describe('mine (ties and missing positives or negatives)', () => {
  it('breaks ties towards the lowest index', () => {
    const tied = Float32Array.from(
      [
        [0, 0.7, 0.7, 0.2, 0.2],
        [0.7, 0, 0.1, 0.5, 0.9],
        [0.7, 0.1, 0, 0.9, 0.5],
        [0.2, 0.5, 0.9, 0, 0.3],
        [0.2, 0.9, 0.5, 0.3, 0],
      ].flat(),
    );
    const m = mine(tied, [0, 0, 0, 1, 1], { strategy: 'batch-hard' });
    expect(triples(m)[0]).toEqual([0, 1, 3]);
    const s = mine(tied, [0, 0, 0, 1, 1], { strategy: 'semi-hard', margin: 1 });
    // Anchor 3, positive 4 (0.3): negatives 0 (0.2) and 1 (0.5), 2 (0.9); window (0.3, 1.3)
    // holds 1 and 2, the nearest is 1.
    expect(triples(s).filter((t) => t[0] === 3)).toEqual([[3, 4, 1]]);
  });

  it('drops anchors without a positive', () => {
    const dist = Float32Array.from(
      [
        [0, 1, 2, 3],
        [1, 0, 1, 2],
        [2, 1, 0, 1],
        [3, 2, 1, 0],
      ].flat(),
    );
    const m = mine(dist, [0, 1, 1, 2], { strategy: 'batch-hard' });
    expect(triples(m)).toEqual([
      [1, 2, 0],
      [2, 1, 3],
    ]);
    expect(m.stats.anchorsDropped).toBe(2);
    expect(m.stats.droppedFraction).toBe(0.5);
  });

  it('returns nothing when all labels are distinct, or all equal, or for one sample', () => {
    const dist = Float32Array.from([0, 1, 2, 1, 0, 1, 2, 1, 0]);
    for (const l of [
      [0, 1, 2],
      [5, 5, 5],
    ]) {
      for (const strategy of ['all', 'batch-hard', 'semi-hard', 'hard', 'easy'] as const) {
        const m = mine(dist, l, { strategy, semiHardFallback: 'farthest' });
        expect(m.stats.found, `${strategy} ${l.join(',')}`).toBe(0);
        expect(m.stats.droppedFraction).toBe(1);
      }
    }
    expect(mine(Float32Array.from([0]), [3]).stats.found).toBe(0);
    expect(mine(new Float32Array(0), []).stats).toEqual({
      candidates: 0,
      found: 0,
      active: 0,
      anchors: 0,
      anchorsDropped: 0,
      droppedFraction: 0,
    });
  });

  it('tfa-compat keeps every batch-hard anchor with the masked-reduction conventions', () => {
    const dist = Float32Array.from(
      [
        [0, 1, 2, 3],
        [1, 0, 1, 2],
        [2, 1, 0, 1],
        [3, 2, 1, 0],
      ].flat(),
    );
    const m = mine(dist, [0, 1, 1, 2], { strategy: 'batch-hard', emptySets: 'tfa-compat' });
    // Anchor 0 has no positive: TF-Addons' masked max over nothing is the row minimum, the
    // anchor itself (distance 0).
    expect(triples(m)).toEqual([
      [0, 0, 1],
      [1, 2, 0],
      [2, 1, 3],
      [3, 3, 2],
    ]);
    // With no negative, the masked min over nothing is the row maximum.
    const same = mine(dist, [7, 7, 7, 7], { strategy: 'batch-hard', emptySets: 'tfa-compat' });
    expect(triples(same)).toEqual([
      [0, 3, 3],
      [1, 3, 3],
      [2, 0, 0],
      [3, 0, 0],
    ]);
  });

  it('tfa-compat semi-hard with no negative falls back to the row minimum', () => {
    const dist = Float32Array.from([0, Math.SQRT2, Math.SQRT2, 0]);
    const options = { strategy: 'semi-hard', semiHardFallback: 'farthest' } as const;
    expect(triples(mine(dist, [0, 0], { ...options, emptySets: 'tfa-compat' }))).toEqual([
      [0, 1, 0],
      [1, 0, 1],
    ]);
    expect(mine(dist, [0, 0], options).stats.found).toBe(0);
  });
});

describe('minePairs', () => {
  it('all: every unordered pair with its similarity flag', () => {
    const m = minePairs(d, labels);
    expect(Array.from(m.first)).toEqual([0, 0, 0, 1, 1, 2]);
    expect(Array.from(m.second)).toEqual([1, 2, 3, 2, 3, 3]);
    expect(Array.from(m.similar)).toEqual([1, 0, 0, 0, 0, 1]);
    // Similar pairs are active when d > 0, dissimilar ones when d < 1: all six here.
    expect(m.stats.active).toBe(6);
  });

  it('hard: only pairs that violate their margin', () => {
    const m = minePairs(d, labels, { strategy: 'hard', posMargin: 0.45, negMargin: 0.7 });
    // Similar (0,1) 0.5 > 0.45 and (2,3) 0.4 not; dissimilar (0,2) 0.3 and (1,3) 0.6 < 0.7.
    expect(Array.from(m.first)).toEqual([0, 0, 1]);
    expect(Array.from(m.second)).toEqual([1, 2, 3]);
    expect(m.stats.candidates).toBe(3);
  });

  it('still has pairs when all labels are distinct; none for one sample', () => {
    const m = minePairs(Float32Array.from([0, 1, 1, 0]), [0, 1]);
    expect(Array.from(m.similar)).toEqual([0]);
    const one = minePairs(Float32Array.from([0]), [0]);
    expect(one.stats.found).toBe(0);
    expect(one.stats.droppedFraction).toBe(1);
  });

  it('samples past maxPairs, reproducibly', () => {
    const a = minePairs(d, labels, { maxPairs: 4, seed: 9 });
    const b = minePairs(d, labels, { maxPairs: 4, seed: 9 });
    expect(a.stats.found).toBe(4);
    expect(a.stats.candidates).toBe(6);
    expect(Array.from(a.first)).toEqual(Array.from(b.first));
    expect(Array.from(a.second)).toEqual(Array.from(b.second));
  });
});
