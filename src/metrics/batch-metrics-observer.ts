/**
 * Metrics that need a whole assigned batch rather than one stage's counters: the cluster sizes
 * after the store's update and every record's latency from its timestamp to its assignment.
 * It is a pipeline observer (the pipeline calls onBatch after each batch), so the batch
 * processor needs no knowledge of either.
 *
 * Per-cluster series (`streamclust_cluster_size{cluster}`) are exported only while the store
 * has at most `perClusterSeriesMaxK` clusters; past that, one series per cluster would be an
 * unbounded label, and only their distribution (`streamclust_cluster_size_distribution`: min,
 * quantiles, max) remains. These are gauges rather than a histogram because sizes are a current state, not events:
 * a histogram re-filled per batch would be a counter that resets every batch, which rate() and
 * increase() misread.
 */
import type { Metrics } from './metrics.js';

/** The part of the pipeline's BatchReport this observer reads (structural: metrics/ imports no pipeline code). */
export interface AssignedBatch {
  /** Wall-clock milliseconds when the batch was assigned. */
  at: number;
  records: readonly { timestamp: number }[];
  centroids: { ids: Int32Array; weights: Float64Array };
}

export const SIZE_STATISTICS = [
  ['min', 0],
  ['p25', 0.25],
  ['median', 0.5],
  ['p75', 0.75],
  ['p90', 0.9],
  ['max', 1],
] as const;

export class BatchMetricsObserver {
  private readonly metrics: Metrics;
  private readonly perClusterSeriesMaxK: number;
  private perClusterShown = new Set<number>();

  constructor(metrics: Metrics, perClusterSeriesMaxK: number) {
    this.metrics = metrics;
    this.perClusterSeriesMaxK = perClusterSeriesMaxK;
  }

  onBatch(report: AssignedBatch): void {
    for (const record of report.records) {
      // A timestamp of 0 or one in the future (clock skew) carries no latency information.
      const seconds = (report.at - record.timestamp) / 1000;
      if (record.timestamp > 0 && seconds >= 0) this.metrics.recordLatency.observe(seconds);
    }
    this.setSizes(report.centroids.ids, report.centroids.weights);
  }

  private setSizes(ids: Int32Array, weights: Float64Array): void {
    const { clusterSize, clusterSizeDistribution } = this.metrics;
    const shown = new Set<number>();
    if (ids.length <= this.perClusterSeriesMaxK) {
      ids.forEach((id, i) => {
        clusterSize.set({ cluster: String(id) }, weights[i] ?? 0);
        shown.add(id);
      });
    }
    // A cluster that died (or every cluster, once k passed the bound) stops being a series.
    for (const id of this.perClusterShown) {
      if (!shown.has(id)) clusterSize.remove({ cluster: String(id) });
    }
    this.perClusterShown = shown;
    const sorted = Float64Array.from(weights).sort();
    for (const [statistic, q] of SIZE_STATISTICS) {
      const value = quantile(sorted, q);
      if (value !== undefined) clusterSizeDistribution.set({ statistic }, value);
    }
  }
}

/** Linear interpolation between closest ranks (numpy's default) over sorted values. */
export function quantile(sorted: Float64Array, q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const position = q * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (position - low);
}
