/**
 * Every clustering metric of one slice of the stream (a pass, or a window of records), computed
 * with the library's scikit-learn-compatible metrics. A metric that has no value for the slice
 * (silhouette of one cluster, say) is `null` with the metric's own message in `notes`, so a
 * report says why instead of printing NaN or stopping the evaluation.
 */
import {
  ari,
  calinskiHarabasz,
  clusteringAccuracy,
  daviesBouldin,
  homogeneityCompletenessVMeasure,
  inertia,
  MetricUndefinedError,
  nmi,
  purity,
  silhouette,
} from './metrics/index.js';

/** Metrics against the ground-truth labels (only records that carry a label count). */
export const EXTERNAL_METRICS = [
  'nmi',
  'ari',
  'accuracy',
  'purity',
  'homogeneity',
  'completeness',
  'vMeasure',
] as const;
/** Metrics of the embedding geometry (on a sample of the slice's embeddings). */
export const INTERNAL_METRICS = [
  'silhouette',
  'daviesBouldin',
  'calinskiHarabasz',
  'inertia',
] as const;

export type MetricName = (typeof EXTERNAL_METRICS)[number] | (typeof INTERNAL_METRICS)[number];

export interface MetricSet {
  records: number;
  labelled: number;
  clusters: number;
  values: Partial<Record<MetricName, number | null>>;
  /** Why a metric is null, by metric name. */
  notes: Partial<Record<MetricName, string>>;
}

export interface SliceInput {
  /** Ground-truth label per record, undefined where a record has none. */
  labels: readonly (number | undefined)[];
  predicted: ArrayLike<number>;
  /** Embeddings of a sample of the slice (rows), with their predicted clusters. */
  sample: { points: readonly ArrayLike<number>[]; predicted: ArrayLike<number> };
  /** Silhouette is O(n²): score at most this many of the sample's points. */
  silhouetteSample: number;
  seed: number;
}

export function computeMetricSet(input: SliceInput): MetricSet {
  const { labels, predicted, sample } = input;
  const values: MetricSet['values'] = {};
  const notes: MetricSet['notes'] = {};
  const record = (name: MetricName, compute: () => number): void => {
    try {
      const value = compute();
      values[name] = Number.isFinite(value) ? value : null;
      if (!Number.isFinite(value)) notes[name] = `${name} is not finite (${String(value)})`;
    } catch (error) {
      if (!(error instanceof MetricUndefinedError)) throw error;
      values[name] = null;
      notes[name] = error.message;
    }
  };

  const truth: number[] = [];
  const guess: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === undefined) continue;
    truth.push(label);
    guess.push(predicted[i] as number);
  }
  if (truth.length > 0) {
    record('nmi', () => nmi(truth, guess));
    record('ari', () => ari(truth, guess));
    record('accuracy', () => clusteringAccuracy(truth, guess));
    record('purity', () => purity(truth, guess));
    const hcv = homogeneityCompletenessVMeasure(truth, guess);
    values.homogeneity = hcv.homogeneity;
    values.completeness = hcv.completeness;
    values.vMeasure = hcv.vMeasure;
  }
  if (sample.points.length > 0) {
    const n = sample.points.length;
    const sampleSize = n > input.silhouetteSample ? input.silhouetteSample : undefined;
    record('silhouette', () =>
      silhouette(sample.points, sample.predicted, {
        ...(sampleSize === undefined ? {} : { sampleSize, seed: input.seed }),
      }),
    );
    record('daviesBouldin', () => daviesBouldin(sample.points, sample.predicted));
    record('calinskiHarabasz', () => calinskiHarabasz(sample.points, sample.predicted));
    record('inertia', () => inertia(sample.points, sample.predicted));
  }
  return {
    records: labels.length,
    labelled: truth.length,
    clusters: new Set(Array.from(predicted)).size,
    values,
    notes,
  };
}
