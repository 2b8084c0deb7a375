/**
 * Each cluster's recent quantile of the distance to its centroid, for the outlier flag on every
 * assignment: a record farther from its centroid than that quantile (default the 99th) is an
 * outlier of its cluster.
 *
 * Per cluster, an online quantile estimate (stochastic approximation: step up by
 * rate·τ when a distance is above it, down by rate·(1 − τ) when not, so it settles where a
 * share 1 − τ of the distances lie above), with the step scaled by the cluster's running mean
 * distance so that it needs no unit. A cluster is flagged only after `minRecords` of its records
 * (the estimate starts at twice the mean of the first ones). O(1) per record, no memory of
 * records; recent because the steps forget. Not checkpointed: after a restart it is relearnt
 * from each cluster's next `minRecords` records.
 */
export interface DistanceQuantileOptions {
  /** τ, in (0, 1): the share of a cluster's distances at or below its outlier threshold. */
  quantile: number;
  /** Records of a cluster before its records can be flagged. */
  minRecords?: number;
  /** Step of the estimate as a share of the mean distance (larger: faster, noisier). */
  rate?: number;
}

interface ClusterQuantile {
  seen: number;
  mean: number;
  estimate: number;
}

export class DistanceQuantiles {
  private readonly clusters = new Map<number, ClusterQuantile>();
  private readonly quantile: number;
  private readonly minRecords: number;
  private readonly rate: number;

  constructor(options: DistanceQuantileOptions) {
    if (!(options.quantile > 0 && options.quantile < 1)) {
      throw new RangeError(
        `DistanceQuantiles: quantile must be in (0, 1), got ${options.quantile}`,
      );
    }
    this.quantile = options.quantile;
    this.minRecords = options.minRecords ?? 100;
    this.rate = options.rate ?? 0.05;
  }

  /** Flags each record beyond its cluster's threshold (as it stood), then learns from it. */
  flag(clusterIds: Int32Array, distances: Float32Array): Uint8Array {
    const outliers = new Uint8Array(clusterIds.length);
    for (let i = 0; i < clusterIds.length; i++) {
      const id = clusterIds[i]!;
      const d = distances[i]!;
      if (!Number.isFinite(d)) continue;
      let c = this.clusters.get(id);
      if (c === undefined) {
        c = { seen: 0, mean: d, estimate: 2 * d };
        this.clusters.set(id, c);
      }
      const above = d > c.estimate;
      if (above && c.seen >= this.minRecords) outliers[i] = 1;
      c.seen += 1;
      c.mean += (d - c.mean) / Math.min(c.seen, 1_000);
      if (c.seen <= 10) c.estimate = 2 * c.mean;
      else c.estimate += this.rate * c.mean * (above ? this.quantile : this.quantile - 1);
    }
    return outliers;
  }

  /** The current threshold of a cluster, or undefined before it has `minRecords` records. */
  threshold(clusterId: number): number | undefined {
    const c = this.clusters.get(clusterId);
    return c === undefined || c.seen < this.minRecords ? undefined : c.estimate;
  }
}
