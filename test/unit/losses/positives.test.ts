import { describe, expect, it } from 'vitest';
import { augmentViews } from '../../../src/losses/augment.js';
import { resolveLabels, viewLabels } from '../../../src/losses/positives.js';

describe('resolveLabels', () => {
  it('field: equal values share a label; missing values are nobody’s positive', () => {
    const labels = resolveLabels('field', {
      n: 6,
      fieldValues: ['a', 'b', 'a', null, 1, undefined],
    });
    expect(Array.from(labels)).toEqual([0, 1, 0, 3, 2, 4]);
  });

  it('field: the number 1 and the string "1" are different values', () => {
    expect(Array.from(resolveLabels('field', { n: 3, fieldValues: [1, '1', 1] }))).toEqual([
      0, 1, 0,
    ]);
  });

  it('key: string and byte keys, equal bytes at different offsets match, empty keys are missing', () => {
    const backing = Uint8Array.from([9, 1, 2, 3, 1, 2, 3]);
    const labels = resolveLabels('key', {
      n: 5,
      keys: ['user-1', backing.subarray(1, 4), 'user-1', backing.subarray(4, 7), new Uint8Array(0)],
    });
    expect(Array.from(labels)).toEqual([0, 1, 0, 1, 2]);
  });

  it('pseudo: cluster ids, with unassigned (negative) records made unique', () => {
    const labels = resolveLabels('pseudo', {
      n: 5,
      clusterIds: Int32Array.from([7, 3, 7, -1, -1]),
    });
    expect(Array.from(labels)).toEqual([0, 1, 0, 2, 3]);
  });

  it('views: row i and row n + i share a label', () => {
    expect(Array.from(resolveLabels('views', { n: 3 }))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(viewLabels(0))).toEqual([]);
  });

  it('names the missing input and a length mismatch', () => {
    expect(() => resolveLabels('key', { n: 2 })).toThrow(/source 'key' needs batch.keys/);
    expect(() => resolveLabels('pseudo', { n: 2, clusterIds: [1] })).toThrow(
      /batch.clusterIds has 1 entries but the batch has 2 records/,
    );
  });
});

describe('augmentViews', () => {
  const features = Float32Array.from([1, 2, 3, 4, 5, 6]);

  it('returns two views per record with view labels, and leaves the input alone', () => {
    const { views, labels } = augmentViews(features, 3, { seed: 1 });
    expect(views.length).toBe(12);
    expect(Array.from(labels)).toEqual([0, 1, 0, 1]);
    expect(Array.from(features)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const a = augmentViews(features, 3, { seed: 4 }).views;
    expect(augmentViews(features, 3, { seed: 4 }).views).toEqual(a);
    expect(augmentViews(features, 3, { seed: 5 }).views).not.toEqual(a);
  });

  it('with no noise and no dropout both views equal the input', () => {
    const { views } = augmentViews(features, 3, { noiseStd: 0, dropout: 0 });
    expect(Array.from(views)).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
  });

  it('noise has the requested standard deviation; dropout zeroes the requested fraction', () => {
    const ones = new Float32Array(20_000).fill(1);
    const noisy = augmentViews(ones, 4, { noiseStd: 0.5, dropout: 0, seed: 2 }).views;
    let sum = 0;
    let sq = 0;
    for (const v of noisy) {
      sum += v - 1;
      sq += (v - 1) ** 2;
    }
    const mean = sum / noisy.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(sq / noisy.length - mean * mean) - 0.5)).toBeLessThan(0.01);
    const dropped = augmentViews(ones, 4, { noiseStd: 0, dropout: 0.3, seed: 3 }).views;
    const zeros = dropped.reduce((c, v) => c + (v === 0 ? 1 : 0), 0) / dropped.length;
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.01);
    expect(dropped.every((v) => v === 0 || v === 1)).toBe(true);
  });

  it('validates its arguments', () => {
    expect(() => augmentViews(features, 4)).toThrow(/not a multiple of dim 4/);
    expect(() => augmentViews(features, 3, { dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    expect(() => augmentViews(features, 3, { noiseStd: -1 })).toThrow(/noiseStd must be ≥ 0/);
  });
});
