import { StreamclustError } from '../../errors.js';

/**
 * Thrown where a clustering metric has no value for its input, e.g. silhouette of a single
 * cluster. scikit-learn raises a ValueError (or returns NaN) there; a typed error lets the
 * evaluation report say "undefined" instead of printing NaN or crashing on a bare Error.
 * Never retriable: the same input gives the same answer.
 */
export class MetricUndefinedError extends StreamclustError {
  /** The metric's name as exported, e.g. 'silhouette'. */
  readonly metric: string;

  constructor(metric: string, message: string) {
    super(message, { retriable: false });
    this.metric = metric;
  }
}

/**
 * The rule silhouette, Davies-Bouldin and Calinski-Harabasz share with scikit-learn's
 * `check_number_of_labels`: with one cluster there is nothing to separate from, and with one
 * cluster per point there is no cohesion to measure.
 */
export function checkClusterCount(metric: string, nClusters: number, nSamples: number): void {
  if (nClusters >= 2 && nClusters <= nSamples - 1) return;
  const clusters = `${nClusters} cluster${nClusters === 1 ? '' : 's'}`;
  throw new MetricUndefinedError(
    metric,
    `${metric} needs between 2 and n_samples - 1 = ${nSamples - 1} clusters; got ${clusters}`,
  );
}
