import type { ClusterConfig } from './config.js';
import { clusterConfigSchema } from './config.js';
import type { DistanceKind } from './nearest-centroid.js';

/*
 * OnlineKMeans' option and result types, and their validation. Defaults come from
 * clusterConfigSchema (config.ts), so a store built from options and one built from the YAML
 * configuration agree; see online-k-means.ts for what each option means.
 */
export interface OnlineKMeansOptions {
  k: number;
  dim: number;
  seed?: number;
  warmupSize?: number;
  reservoirSize?: number;
  distance?: DistanceKind;
  decay?: Partial<ClusterConfig['decay']>;
  recovery?: Partial<ClusterConfig['recovery']>;
  init?: Partial<ClusterConfig['init']>;
  merge?: Partial<ClusterConfig['merge']>;
  adaptive?: Partial<ClusterConfig['adaptive']>;
  initialCentroids?: Float32Array | Float64Array;
  initialWeights?: Float64Array;
}

export type ResolvedOnlineKMeansOptions = ClusterConfig & { dim: number; seed: number };

export interface UpdateOptions {
  weights?: Float32Array;
  eventTimeMs?: number;
}

export interface Assignment {
  clusterIds: Int32Array;
  distances: Float32Array;
}

export function checkWeights(weights: Float32Array, n: number): void {
  if (weights.length !== n)
    throw new RangeError(`weights has ${weights.length} values for ${n} points`);
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w))
      throw new RangeError(`weight ${i} is ${w}; weights must be finite and ≥ 0`);
  }
}

export function resolveOptions(o: OnlineKMeansOptions): ResolvedOnlineKMeansOptions {
  if (!Number.isInteger(o.dim) || o.dim < 1)
    throw new RangeError(`dim must be a positive integer, got ${o.dim}`);
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const parsed = clusterConfigSchema.safeParse({
    k: o.k,
    warmupSize: o.warmupSize,
    reservoirSize: o.reservoirSize ?? o.warmupSize,
    distance: o.distance,
    decay: o.decay,
    recovery: o.recovery,
    init: o.init,
    merge: o.merge,
    adaptive: o.adaptive,
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new RangeError(`invalid OnlineKMeans option ${first.path.join('.')}: ${first.message}`);
  }
  return { ...parsed.data, dim: o.dim, seed };
}
