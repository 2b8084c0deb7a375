import { z } from 'zod';
import type { OnlineKMeansOptions } from './online-k-means-options.js';

/*
 * The `cluster:` section of the configuration. This schema is the single source of the store's
 * defaults: OnlineKMeans fills any option it is not given from `clusterConfigSchema.parse({})`.
 * Nested objects default to their own schema's parse of `{}` so a partial section (say, only
 * `decay.unit`) still gets every other key's default.
 */

const decaySchema = z.strictObject({
  unit: z.enum(['none', 'batches', 'points', 'seconds']).default('points'),
  halfLife: z.number().positive().finite().default(100_000),
});

const recoverySchema = z.strictObject({
  enabled: z.boolean().default(true),
  strategy: z.enum(['split', 'reseed']).default('split'),
  minWeightRatio: z.number().gt(0).lt(1).default(0.01),
  perturbation: z.number().gt(0).max(0.5).default(1e-3),
  graceBatches: z.number().int().min(0).default(10),
  maxPerBatch: z.number().int().min(1).default(1),
});

const initSchema = z.strictObject({
  restarts: z.number().int().min(1).max(100).default(10),
  iterations: z.number().int().min(0).max(1000).default(10),
});

const mergeSchema = z.strictObject({
  enabled: z.boolean().default(false),
  threshold: z.number().positive().finite().default(0.05),
});

const adaptiveSchema = z.strictObject({
  enabled: z.boolean().default(false),
  maxClusters: z.number().int().min(1).default(32),
  quantile: z.number().gt(0.5).lt(1).default(0.99),
  minOutlierShare: z.number().gt(0).lt(1).default(0.05),
  patienceBatches: z.number().int().min(1).default(5),
});

/** The keys of the section, shared with the application's schema (src/config/schema.ts). */
export const clusterShape = {
  k: z.number().int().min(1).max(65_536).default(8),
  warmupSize: z.number().int().min(1).default(1000),
  reservoirSize: z.number().int().min(1).default(1000),
  distance: z.enum(['euclidean', 'cosine']).default('euclidean'),
  decay: decaySchema.default(decaySchema.parse({})),
  recovery: recoverySchema.default(recoverySchema.parse({})),
  init: initSchema.default(initSchema.parse({})),
  merge: mergeSchema.default(mergeSchema.parse({})),
  adaptive: adaptiveSchema.default(adaptiveSchema.parse({})),
};

export const clusterConfigSchema = z.strictObject(clusterShape).superRefine((c, ctx) => {
  if (c.warmupSize < c.k) {
    ctx.addIssue({
      code: 'custom',
      path: ['warmupSize'],
      message: `cluster.warmupSize (${c.warmupSize}) must be at least cluster.k (${c.k}): k-means++ picks its k seeds among the warm-up records. Set warmupSize to 10 × k or more.`,
    });
  }
  if (c.reservoirSize < c.k) {
    ctx.addIssue({
      code: 'custom',
      path: ['reservoirSize'],
      message: `cluster.reservoirSize (${c.reservoirSize}) must be at least cluster.k (${c.k}): the reservoir holds the points k-means++ seeds from. Set it to 10 × k or more.`,
    });
  }
  if (c.adaptive.enabled && c.adaptive.maxClusters < c.k) {
    ctx.addIssue({
      code: 'custom',
      path: ['adaptive', 'maxClusters'],
      message: `cluster.adaptive.maxClusters (${c.adaptive.maxClusters}) must be at least cluster.k (${c.k}): adaptive k only adds clusters. Raise maxClusters or lower k.`,
    });
  }
});

export type ClusterConfig = z.output<typeof clusterConfigSchema>;
export type DecayConfig = ClusterConfig['decay'];
export type RecoveryConfig = ClusterConfig['recovery'];
export type MergeConfig = ClusterConfig['merge'];
export type AdaptiveConfig = ClusterConfig['adaptive'];

/** The defaults, parsed once; OnlineKMeans fills missing options from here. */
export const clusterDefaults: ClusterConfig = clusterConfigSchema.parse({});

/**
 * The store's options from the validated `cluster:` section, the embedding dimension (known
 * only once the model is built) and the run's seed.
 */
export function onlineKMeansOptionsFromConfig(
  config: ClusterConfig,
  dim: number,
  seed: number,
): OnlineKMeansOptions {
  return {
    k: config.k,
    dim,
    seed,
    warmupSize: config.warmupSize,
    reservoirSize: config.reservoirSize,
    distance: config.distance,
    decay: { ...config.decay },
    recovery: { ...config.recovery },
    init: { ...config.init },
    merge: { ...config.merge },
    adaptive: { ...config.adaptive },
  };
}
