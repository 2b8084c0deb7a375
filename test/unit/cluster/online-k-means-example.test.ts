import { describe, expect, it } from 'vitest';
import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';

// The example in online-k-means.ts' header, run verbatim.
describe('OnlineKMeans documented example', () => {
  it('produces the documented output', () => {
    const store = new OnlineKMeans({
      k: 2,
      dim: 2,
      seed: 7,
      warmupSize: 4,
      decay: { unit: 'none' },
      init: { restarts: 1, iterations: 0 },
    });
    expect(store.ready).toBe(false);
    expect(store.version).toBe(0);
    expect(store.observe(new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]))).toBe(true);
    const { clusterIds, distances, events } = store.update(new Float32Array([0, 0.5, 10, 10.5]));
    expect(Array.from(clusterIds)).toEqual([0, 1]);
    expect(Array.from(distances)).toEqual([0.5, 0.5]);
    expect(events.map((e) => [e.kind, e.clusterId])).toEqual([
      ['born', 0],
      ['born', 1],
    ]);
    const c = store.centroids();
    expect(Array.from(c.ids)).toEqual([0, 1]);
    // Seeds [0,0] and [10,10] carry weight 2 (two reservoir points each): (2·0 + 0.5) / 3 = 1/6.
    const expected = [0, 1 / 6, 10, 10 + 1 / 6];
    c.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    expect(Array.from(c.weights)).toEqual([3, 3]);
    expect(store.version).toBe(2);
  });
});
