import { describe, expect, it } from 'vitest';

import { kMeansPlusPlus } from '../../../src/cluster/k-means-plus-plus.js';
import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { warmStart } from '../../../src/cluster/warm-start.js';

function inertia(points: Float32Array, dim: number, centroids: Float64Array): number {
  let total = 0;
  for (let i = 0; i < points.length / dim; i++) {
    let best = Infinity;
    for (let j = 0; j < centroids.length / dim; j++) {
      let d = 0;
      for (let t = 0; t < dim; t++) d += (points[i * dim + t]! - centroids[j * dim + t]!) ** 2;
      best = Math.min(best, d);
    }
    total += best;
  }
  return total;
}

describe('warmStart', () => {
  it('produces the documented example: the two pair means', () => {
    const points = new Float32Array([0, 0, 0, 2, 10, 10, 10, 12]);
    const seeds = warmStart(points, 2, 2, 'euclidean', new SeededRandom(1), {
      restarts: 3,
      iterations: 10,
    });
    const rows = [[...seeds.subarray(0, 2)], [...seeds.subarray(2, 4)]].sort(
      (a, b) => a[0]! - b[0]!,
    );
    expect(rows).toEqual([
      [0, 1],
      [10, 11],
    ]);
  });

  it('with one restart and no iterations is exactly k-means++', () => {
    const points = Float32Array.from(
      { length: 200 },
      (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1,
    );
    const a = warmStart(points, 2, 5, 'euclidean', new SeededRandom(3), {
      restarts: 1,
      iterations: 0,
    });
    const b = kMeansPlusPlus(points, 2, 5, 'euclidean', new SeededRandom(3));
    expect([...a]).toEqual([...b]);
  });

  it('finds the true centres of well-separated blobs where a single k-means++ draw can fail', () => {
    // Five tight blobs on a line; count how often each method lands one centroid per blob.
    const dim = 1;
    const centres = [0, 10, 20, 30, 40];
    const points = new Float32Array(500);
    const rng = new SeededRandom(9);
    for (let i = 0; i < 500; i++) points[i] = centres[i % 5]! + 0.5 * rng.gaussian();
    const perfect = (c: Float64Array): boolean => {
      const sorted = [...c].sort((x, y) => x - y);
      return sorted.every((v, j) => Math.abs(v - centres[j]!) < 1);
    };
    let plain = 0;
    let warm = 0;
    for (let seed = 0; seed < 40; seed++) {
      if (perfect(kMeansPlusPlus(points, dim, 5, 'euclidean', new SeededRandom(seed)))) plain += 1;
      const w = warmStart(points, dim, 5, 'euclidean', new SeededRandom(seed), {
        restarts: 3,
        iterations: 10,
      });
      if (perfect(w)) warm += 1;
      expect(inertia(points, dim, w)).toBeLessThanOrEqual(
        inertia(points, dim, kMeansPlusPlus(points, dim, 5, 'euclidean', new SeededRandom(seed))) +
          1e-6,
      );
    }
    expect(warm).toBe(40);
    expect(plain).toBeLessThan(40);
  });
});
