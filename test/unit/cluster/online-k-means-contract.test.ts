import { describe } from 'vitest';
import { runClustererContract } from './clusterer-contract.js';

describe('OnlineKMeans clusterer contract', () => {
  runClustererContract({
    name: 'euclidean, decay in points',
    options: { k: 4, dim: 6, warmupSize: 300 },
  });
  runClustererContract({
    name: 'cosine on normalised points, reseed recovery',
    normalise: true,
    options: {
      k: 5,
      dim: 8,
      warmupSize: 250,
      distance: 'cosine',
      recovery: { strategy: 'reseed' },
    },
  });
  runClustererContract({
    name: 'adaptive k with merging, decay in seconds',
    options: {
      k: 3,
      dim: 4,
      warmupSize: 400,
      decay: { unit: 'seconds', halfLife: 5 },
      merge: { enabled: true, threshold: 0.5 },
      adaptive: { enabled: true, maxClusters: 8, patienceBatches: 2, minOutlierShare: 0.03 },
    },
  });
  runClustererContract({
    name: 'no decay, recovery off',
    options: {
      k: 6,
      dim: 3,
      warmupSize: 200,
      decay: { unit: 'none' },
      recovery: { enabled: false },
    },
  });
});
