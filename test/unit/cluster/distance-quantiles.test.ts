import { describe, expect, it } from 'vitest';

import { DistanceQuantiles } from '../../../src/cluster/distance-quantiles.js';
import { mulberry32 } from '../../../src/losses/mulberry32.js';

/** Distances of one cluster: |N(0, σ²)| in 8 dimensions, i.e. σ·χ₈. */
function distances(n: number, sigma: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Float32Array.from({ length: n }, () => {
    let s = 0;
    for (let t = 0; t < 8; t++) s += normal() ** 2;
    return sigma * Math.sqrt(s);
  });
}

describe('DistanceQuantiles', () => {
  it("flags about 1 % of each cluster's records at quantile 0.99, whatever its scale", () => {
    const q = new DistanceQuantiles({ quantile: 0.99 });
    // Two clusters, one 100 times wider, interleaved in batches of 256.
    const n = 40_000;
    const near = distances(n, 0.01, 1);
    const far = distances(n, 1, 2);
    let flaggedNear = 0;
    let flaggedFar = 0;
    for (let at = 0; at < n; at += 128) {
      const ids = new Int32Array(256);
      const d = new Float32Array(256);
      for (let i = 0; i < 128; i++) {
        ids[2 * i] = 0;
        d[2 * i] = near[at + i]!;
        ids[2 * i + 1] = 1;
        d[2 * i + 1] = far[at + i]!;
      }
      const flags = q.flag(ids, d);
      if (at < 10_000) continue; // the estimate settles first
      for (let i = 0; i < 256; i++) {
        if (flags[i] === 0) continue;
        if (i % 2 === 0) flaggedNear += 1;
        else flaggedFar += 1;
      }
    }
    const counted = n - 10_000;
    expect(flaggedNear / counted).toBeGreaterThan(0.005);
    expect(flaggedNear / counted).toBeLessThan(0.02);
    expect(flaggedFar / counted).toBeGreaterThan(0.005);
    expect(flaggedFar / counted).toBeLessThan(0.02);
    // χ₈'s 99th percentile is 4.44: the thresholds sit near σ · 4.44.
    expect(q.threshold(0)! / 0.01).toBeGreaterThan(3.9);
    expect(q.threshold(0)! / 0.01).toBeLessThan(5.0);
    expect(q.threshold(1)!).toBeGreaterThan(3.9);
    expect(q.threshold(1)!).toBeLessThan(5.0);
  });

  it('flags nothing before a cluster has 100 records, and a far record after', () => {
    const q = new DistanceQuantiles({ quantile: 0.99 });
    const early = q.flag(new Int32Array(99).fill(4), distances(99, 1, 3));
    expect(early.every((f) => f === 0)).toBe(true);
    expect(q.threshold(4)).toBeUndefined();
    q.flag(new Int32Array(400).fill(4), distances(400, 1, 4));
    expect(Array.from(q.flag(Int32Array.of(4, 4), Float32Array.of(1, 50)))).toEqual([0, 1]);
  });
});
