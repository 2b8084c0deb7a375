import { describe, expect, it } from 'vitest';
import { clusterConfigSchema, onlineKMeansOptionsFromConfig } from '../../../src/cluster/config.js';
import { decayFactor } from '../../../src/cluster/decay.js';
import {
  HISTOGRAM_BINS,
  histogramBin,
  histogramQuantile,
  histogramUpperEdge,
} from '../../../src/cluster/distance-histogram.js';
import { kMeansPlusPlus } from '../../../src/cluster/k-means-plus-plus.js';
import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';
import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { WarmupReservoir } from '../../../src/cluster/warmup-reservoir.js';

describe('kMeansPlusPlus', () => {
  it('runs the documented example', () => {
    const pts = new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]);
    expect(Array.from(kMeansPlusPlus(pts, 2, 2, 'euclidean', new SeededRandom(1)))).toEqual([
      10, 10, 0, 0,
    ]);
  });

  it('puts one seed in each of k well-separated groups, for every seed', () => {
    const rng = new SeededRandom(5);
    const k = 6;
    const pts = new Float32Array(600 * 2);
    for (let i = 0; i < 600; i++) {
      pts[2 * i] = 100 * (i % k) + rng.gaussian();
      pts[2 * i + 1] = rng.gaussian();
    }
    for (let s = 0; s < 10; s++) {
      const seeds = kMeansPlusPlus(pts, 2, k, 'euclidean', new SeededRandom(s));
      const groups = new Set(Array.from({ length: k }, (_, j) => Math.round(seeds[2 * j]! / 100)));
      expect(groups.size).toBe(k);
    }
  });

  it('returns k seeds even when every point is the same', () => {
    const seeds = kMeansPlusPlus(new Float32Array(20).fill(3), 2, 4, 'cosine', new SeededRandom(0));
    expect(Array.from(seeds)).toEqual(new Array(8).fill(3));
  });
});

describe('decayFactor', () => {
  it('halves a weight after one half-life in each unit', () => {
    expect(decayFactor({ unit: 'none', halfLife: 5 }, 100, 100)).toBe(1);
    expect(decayFactor({ unit: 'batches', halfLife: 4 }, 100, 0) ** 4).toBeCloseTo(0.5, 14);
    expect(decayFactor({ unit: 'points', halfLife: 1000 }, 250, 0) ** 4).toBeCloseTo(0.5, 14);
    expect(decayFactor({ unit: 'seconds', halfLife: 30 }, 1, 15) ** 2).toBeCloseTo(0.5, 14);
    expect(decayFactor({ unit: 'seconds', halfLife: 30 }, 1, -5)).toBe(1);
  });
});

describe('distance histogram', () => {
  it('puts values in log-spaced bins and answers quantiles by upper edge', () => {
    expect(histogramBin(0)).toBe(0);
    expect(histogramBin(1e-4)).toBe(1);
    expect(histogramBin(2e-4 * 1.0001)).toBe(5);
    expect(histogramBin(1e9)).toBe(HISTOGRAM_BINS - 1);
    const h = new Float64Array(HISTOGRAM_BINS);
    for (let i = 1; i <= 100; i++) h[histogramBin(i / 100)]! += 1;
    const q = histogramQuantile(h, 0.9, 10);
    // The true 0.9-quantile is 0.9; the answer is the upper edge of its bin, within 19 %.
    expect(q).toBeGreaterThanOrEqual(0.9);
    expect(q).toBeLessThan(0.9 * 2 ** 0.25);
    expect(histogramQuantile(h, 0.9, 1000)).toBe(Infinity);
    expect(histogramUpperEdge(HISTOGRAM_BINS - 1)).toBe(Infinity);
  });
});

describe('WarmupReservoir', () => {
  it('samples only from the first warmupSize records, uniformly', () => {
    const hits = new Float64Array(40);
    for (let s = 0; s < 400; s++) {
      const r = new WarmupReservoir(10, 1, 40);
      const rng = new SeededRandom(s);
      r.offer(
        Float32Array.from({ length: 30 }, (_, i) => i),
        rng,
      );
      r.offer(
        Float32Array.from({ length: 30 }, (_, i) => 30 + i),
        rng,
      );
      expect(r.seen).toBe(40);
      for (const v of r.sample()) hits[v]! += 1;
    }
    // Records 40..59 came after the warm-up and must never appear; each earlier record is kept
    // with probability 10/40, i.e. about 100 times in 400 runs.
    for (let i = 0; i < 40; i++) expect(Math.abs(hits[i]! - 100)).toBeLessThan(40);
  });
});

describe('cluster config', () => {
  it('fills every default and maps onto the store options', () => {
    const c = clusterConfigSchema.parse({ k: 16, decay: { unit: 'batches' } });
    expect(c.decay).toEqual({ unit: 'batches', halfLife: 100_000 });
    expect(c.recovery.strategy).toBe('split');
    const store = new OnlineKMeans(onlineKMeansOptionsFromConfig(c, 32, 7));
    expect(store.options).toEqual({ ...c, dim: 32, seed: 7 });
  });

  it('names the key, value and fix when a rule is broken', () => {
    const r = clusterConfigSchema.safeParse({ k: 8, adaptive: { enabled: true, maxClusters: 4 } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['adaptive', 'maxClusters']);
    expect(r.error!.issues[0]!.message).toBe(
      'cluster.adaptive.maxClusters (4) must be at least cluster.k (8): adaptive k only adds clusters. Raise maxClusters or lower k.',
    );
    const s = clusterConfigSchema.safeParse({ k: 8, reservoirSize: 4 });
    expect(s.error!.issues[0]!.message).toMatch(
      /cluster.reservoirSize \(4\) must be at least cluster.k \(8\)/,
    );
  });
});
