/**
 * What kind of records each cluster holds, in the input's own units: per cluster, decayed sums
 * of the raw (unscaled) features and their squares, so that `/clusters` can say "cluster 3:
 * 12 % of recent records, latency 840 ms (±120) where the rest have 95 ms" without anyone
 * reading centroids in embedding space.
 *
 * Decay: every record counts 2^(−age / halfLifeRecords), age counted in records of the whole
 * stream, so a profile follows its cluster as the stream drifts (the store's own decay is in
 * event time; this one needs no clock). The features that set a cluster apart are those with
 * the largest standardised mean difference from the other clusters' records: (mean in the
 * cluster − mean of the rest) / standard deviation of all recent records.
 */
import { basename } from 'node:path';

export interface FeatureProfile {
  feature: string;
  mean: number;
  sd: number;
  /** Mean of the records of the other clusters. */
  restMean: number;
  /** (mean − restMean) / sd of all recent records; 0 where that sd is 0. */
  difference: number;
}

export interface ClusterProfile {
  /** Decayed record count, and its share of all clusters'. */
  weight: number;
  share: number;
  /** Every feature, in input order. */
  features: FeatureProfile[];
  /** The features that set it apart, largest |difference| first (up to `distinguishing`). */
  distinguishing: FeatureProfile[];
  /** A few recent records: their key, or where they were (topic:partition@offset). */
  examples: string[];
}

/**
 * A profile without its per-feature list: what a lifecycle event and the live view carry, so
 * that a record with hundreds of features does not make every event that long.
 */
export type ProfileSummary = Omit<ClusterProfile, 'features'>;

export function summarizeProfile({ features: _all, ...summary }: ClusterProfile): ProfileSummary {
  return summary;
}

/** A profile's value for a person: whole above 100, else 3 significant digits; '–' if none. */
export function profileNumber(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/** What names an example record: its key, else where it was. */
export interface ExampleRecord {
  key: Buffer | null;
  topic: string;
  partition: number;
  offset: string;
}

interface Sums {
  weight: number;
  sum: Float64Array;
  squares: Float64Array;
  /** The last few records, named only when a profile is read (not per record). */
  examples: ExampleRecord[];
}

interface Totals {
  weight: number;
  sum: Float64Array;
  squares: Float64Array;
}

const EXAMPLES = 3;

export class ClusterProfiles {
  private readonly clusters = new Map<number, Sums>();
  private readonly decayPerRecord: number;

  constructor(
    readonly dim: number,
    private readonly names: readonly string[],
    halfLifeRecords = 10_000,
    private readonly distinguishing = 3,
  ) {
    if (names.length !== dim) {
      throw new RangeError(`ClusterProfiles: ${names.length} feature names for dim ${dim}`);
    }
    this.decayPerRecord = 2 ** (-1 / halfLifeRecords);
  }

  /** Adds a batch: rows × dim raw features, each row's cluster, and the rows' records. */
  update(clusterIds: Int32Array, raw: Float32Array, records: readonly ExampleRecord[]): void {
    const d = this.dim;
    const rows = clusterIds.length;
    if (raw.length !== rows * d) {
      throw new RangeError(`ClusterProfiles.update: ${raw.length} values for ${rows} × ${d}`);
    }
    // The whole batch ages the stored sums at once; records within it count alike.
    const decay = this.decayPerRecord ** rows;
    for (const c of this.clusters.values()) {
      c.weight *= decay;
      for (let t = 0; t < d; t++) {
        c.sum[t]! *= decay;
        c.squares[t]! *= decay;
      }
    }
    for (let r = 0; r < rows; r++) {
      const id = clusterIds[r]!;
      let c = this.clusters.get(id);
      if (c === undefined) {
        c = { weight: 0, sum: new Float64Array(d), squares: new Float64Array(d), examples: [] };
        this.clusters.set(id, c);
      }
      c.weight += 1;
      for (let t = 0; t < d; t++) {
        const x = raw[r * d + t]!;
        c.sum[t]! += x;
        c.squares[t]! += x * x;
      }
      const record = records[r];
      if (record !== undefined) {
        c.examples.push(record);
        if (c.examples.length > EXAMPLES) c.examples.shift();
      }
    }
  }

  /** Forgets clusters the store no longer has (merged, died). */
  retain(ids: Iterable<number>): void {
    const keep = new Set(ids);
    for (const id of [...this.clusters.keys()]) if (!keep.has(id)) this.clusters.delete(id);
  }

  profile(id: number): ClusterProfile | undefined {
    return this.describe(id, this.totals());
  }

  /** Every cluster's profile, the totals over all clusters summed once. */
  all(): Map<number, ClusterProfile> {
    const totals = this.totals();
    const out = new Map<number, ClusterProfile>();
    for (const id of this.clusters.keys()) {
      const profile = this.describe(id, totals);
      if (profile !== undefined) out.set(id, profile);
    }
    return out;
  }

  private totals(): Totals {
    const d = this.dim;
    const totals = { weight: 0, sum: new Float64Array(d), squares: new Float64Array(d) };
    for (const c of this.clusters.values()) {
      totals.weight += c.weight;
      for (let t = 0; t < d; t++) {
        totals.sum[t]! += c.sum[t]!;
        totals.squares[t]! += c.squares[t]!;
      }
    }
    return totals;
  }

  private describe(id: number, totals: Totals): ClusterProfile | undefined {
    const c = this.clusters.get(id);
    if (c === undefined || c.weight <= 0) return undefined;
    const { weight: totalWeight, sum: totalSum, squares: totalSquares } = totals;
    const restWeight = totalWeight - c.weight;
    const features = this.names.map((feature, t) => {
      const mean = c.sum[t]! / c.weight;
      const sd = Math.sqrt(Math.max(0, c.squares[t]! / c.weight - mean * mean));
      const allMean = totalSum[t]! / totalWeight;
      const allSd = Math.sqrt(Math.max(0, totalSquares[t]! / totalWeight - allMean * allMean));
      const restMean = restWeight > 1e-9 ? (totalSum[t]! - c.sum[t]!) / restWeight : Number.NaN;
      const difference = allSd > 0 && Number.isFinite(restMean) ? (mean - restMean) / allSd : 0;
      return { feature, mean, sd, restMean, difference };
    });
    const distinguishing = [...features]
      .sort((a, b) => Math.abs(b.difference) - Math.abs(a.difference))
      .slice(0, this.distinguishing)
      .filter((f) => f.difference !== 0);
    return {
      weight: c.weight,
      share: c.weight / totalWeight,
      features,
      distinguishing,
      examples: c.examples.map((r) =>
        r.key !== null
          ? r.key.toString('utf8')
          : // A file's records carry its path as their topic (a topic name has no '/'): its
            // name is enough to find the line.
            `${r.topic.includes('/') ? basename(r.topic) : r.topic}:${r.partition}@${r.offset}`,
      ),
    };
  }
}
