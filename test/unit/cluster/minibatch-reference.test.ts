import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';

interface Step {
  points: number[];
  weights: number[] | null;
  labels: number[] | null;
  centers: number[];
  counts: number[];
}
interface Reference {
  k: number;
  dim: number;
  init: number[];
  steps: Step[];
}

// Values printed by scripts/reference/minibatch-kmeans.py (scikit-learn MiniBatchKMeans).
const ref = JSON.parse(
  readFileSync(new URL('../../fixtures/reference/minibatch-kmeans.json', import.meta.url), 'utf8'),
) as Reference;

describe('OnlineKMeans with a = 1 matches scikit-learn MiniBatchKMeans.partial_fit', () => {
  it('gives the same labels, centers and counts after every batch, within 1e-4', () => {
    const store = new OnlineKMeans({
      k: ref.k,
      dim: ref.dim,
      decay: { unit: 'none' },
      recovery: { enabled: false },
      initialCentroids: Float64Array.from(ref.init),
    });
    expect(store.ready).toBe(true);
    let batchesWithMovement = 0;
    for (const step of ref.steps) {
      const before = store.centroids().data;
      const weights = step.weights === null ? undefined : Float32Array.from(step.weights);
      const out = store.update(
        Float32Array.from(step.points),
        weights === undefined ? {} : { weights },
      );
      if (step.labels !== null) expect(Array.from(out.clusterIds)).toEqual(step.labels);
      const c = store.centroids();
      expect(c.data.length).toBe(step.centers.length);
      c.data.forEach((v, i) => expect(Math.abs(v - step.centers[i]!)).toBeLessThan(1e-4));
      c.weights.forEach((w, j) => expect(Math.abs(w - step.counts[j]!)).toBeLessThan(1e-4));
      if (before.some((v, i) => Math.abs(v - c.data[i]!) > 1e-3)) batchesWithMovement++;
    }
    // The reference is only a test of the rule if the centers actually moved.
    expect(batchesWithMovement).toBe(ref.steps.length);
  });
});
