import { describe, expect, it } from 'vitest';

import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { pca2, tsne2 } from '../../../src/eval/projection.js';

describe('pca2', () => {
  it('finds the direction of a line and the spread across it', () => {
    // Points t·(3, 4)/5 plus ±0.1 along (-4, 3)/5: variances 2 (t = -2..2) and 0.01.
    const rows: number[][] = [];
    for (const t of [-2, -1, 0, 1, 2]) {
      for (const s of [-0.1, 0.1]) rows.push([(3 * t - 4 * s) / 5, (4 * t + 3 * s) / 5, 7]);
    }
    const { points, explained } = pca2(rows);
    expect(explained[0]).toBeCloseTo(2 / 2.01, 9);
    expect(explained[1]).toBeCloseTo(0.01 / 2.01, 9);
    // The sign is fixed so the largest component (0.8, y) is positive: coordinate = t.
    points.forEach(([x, y], i) => {
      expect(x).toBeCloseTo([-2, -1, 0, 1, 2][Math.floor(i / 2)] as number, 9);
      expect(Math.abs(y)).toBeCloseTo(0.1, 9);
    });
  });
});

describe('tsne2 (tsne-js)', () => {
  it('keeps two far groups apart and is reproducible with a seed', () => {
    const random = new SeededRandom(1);
    const rows = Array.from({ length: 60 }, (_, i) => [
      i < 30 ? 0 : 20,
      random.gaussian(),
      random.gaussian(),
    ]);
    const a = tsne2(rows, { iterations: 300, seed: 4 });
    expect(tsne2(rows, { iterations: 300, seed: 4 })).toEqual(a);
    // Every point's five nearest neighbours in the layout come from its own group.
    a.forEach(([x, y], i) => {
      const nearest = a
        .map(([u, v], j) => ({ j, d: Math.hypot(u - x, v - y) }))
        .filter(({ j }) => j !== i)
        .sort((p, q) => p.d - q.d)
        .slice(0, 5);
      for (const { j } of nearest) expect(j < 30).toBe(i < 30);
    });
  });
});
