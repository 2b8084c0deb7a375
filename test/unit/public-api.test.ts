import { describe, expect, it } from 'vitest';

import * as streamclust from '../../src/index.js';

describe('public API (DESIGN.md names)', () => {
  it('exports the loss functions and miners', () => {
    for (const name of [
      'contrastive',
      'triplet',
      'kmeans',
      'softCluster',
      'deepCluster',
      'pairwiseDistances',
      'mine',
    ]) {
      expect(typeof (streamclust.losses as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('exports the clustering metrics', () => {
    for (const name of [
      'silhouette',
      'daviesBouldin',
      'calinskiHarabasz',
      'nmi',
      'ari',
      'clusteringAccuracy',
      'purity',
      'homogeneityCompletenessVMeasure',
    ]) {
      expect(typeof (streamclust.metrics as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(streamclust.metrics.nmi([0, 0, 1, 1], [1, 1, 0, 0])).toBeCloseTo(1, 12);
  });

  it('exports the store, the pipeline and the config loader', () => {
    const store = new streamclust.OnlineKMeans({ k: 2, dim: 1, warmupSize: 2 });
    expect(store.observe(new Float32Array([0, 10]))).toBe(true);
    expect([...store.assign(new Float32Array([1, 9])).clusterIds].sort()).toEqual([0, 1]);
    expect(typeof streamclust.createPipeline).toBe('function');
    expect(streamclust.loadConfig({ env: {} }).source).toBe('synthetic');
  });
});
