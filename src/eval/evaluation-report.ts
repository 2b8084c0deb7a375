/**
 * The evaluation report: what report.json holds (and report.html draws). Built once at the end
 * of an evaluation from the collector's windows, passes, events and embedding sample.
 */
import type { ClusterProfile } from '../cluster/cluster-profiles.js';
import type { Config } from '../config/schema.js';
import type {
  EvaluationCollector,
  EventAt,
  PassResult,
  WindowResult,
} from './evaluation-collector.js';
import { SeededRandom } from '../cluster/seeded-random.js';
import { pca2, tsne2 } from './projection.js';

export interface DataRange {
  kind: 'kafka' | 'file';
  /** Topic or file path. */
  name: string;
  /** Kafka: the resolved half-open offset range of each partition. */
  partitions?: { partition: number; start: string; end: string }[];
  from?: string;
  to?: string;
  recordsPerPass: number;
}

export interface EvaluationChoices {
  mode: 'train' | 'frozen';
  passes: number;
  windowRecords: number;
  k: number;
  /** Where k came from: a flag or configuration, or the number of distinct labels in the data. */
  kSource: 'configuration' | 'labels';
  warmupSize: number;
  labelField: string;
  /** String labels and the integer ids the metrics use (decode.labelValues); null for integers. */
  labelMapping?: Record<string, number> | null;
  checkpoint: string | null;
}

export interface EmbeddingView {
  pass: number;
  dim: number;
  clusters: number[];
  labels: (number | null)[];
  pca: { explained: [number, number]; points: [number, number][] };
  /** t-SNE of a seeded subset of the sample (`index` into it), or null when off. */
  tsne: { index: number[]; points: [number, number][]; iterations: number } | null;
}

export interface EvaluationReport {
  tool: 'streamclust';
  command: 'replay' | 'evaluate';
  createdAt: string;
  data: DataRange;
  choices: EvaluationChoices;
  backend: string | null;
  /** What the store clusters: the learned embedding, or the scaled input (model.kind: none). */
  clusteredSpace: 'embedding' | 'input';
  summary: {
    recordsAssigned: number;
    recordsInvalid: number;
    invalidReasons: Record<string, number>;
    seconds: number;
    recordsPerSecond: number;
    finalClusters: number;
    modelVersion: number;
  };
  passes: PassResult[];
  windows: WindowResult[];
  events: EventAt[];
  lifecycle: Record<string, number>;
  embeddings: EmbeddingView | null;
  /** Each final cluster in input units (cluster-profiles.ts), as /clusters shows it. */
  profiles?: { id: number; profile: ClusterProfile }[];
  configuration: Config;
}

export interface BuildReportInput {
  command: EvaluationReport['command'];
  data: DataRange;
  choices: EvaluationChoices;
  config: Config;
  backend: string | undefined;
  collector: EvaluationCollector;
  invalid: { count: number; reasons: Record<string, number> };
  seconds: number;
  finalClusters: number;
  modelVersion: number;
  /** Points of the sample that get a t-SNE layout (0 = none). */
  tsnePoints: number;
  tsneIterations: number;
  profiles?: { id: number; profile: ClusterProfile }[];
}

export function buildReport(input: BuildReportInput): EvaluationReport {
  const { collector } = input;
  collector.finish();
  const lifecycle: Record<string, number> = {};
  for (const e of collector.events) {
    if (e.type === 'lifecycle') lifecycle[e.kind] = (lifecycle[e.kind] ?? 0) + 1;
  }
  const assigned = collector.recordsSeen;
  return {
    tool: 'streamclust',
    command: input.command,
    createdAt: new Date().toISOString(),
    data: input.data,
    choices: input.choices,
    backend: input.backend ?? null,
    clusteredSpace: input.config.model.kind === 'none' ? 'input' : 'embedding',
    summary: {
      recordsAssigned: assigned,
      recordsInvalid: input.invalid.count,
      invalidReasons: input.invalid.reasons,
      seconds: input.seconds,
      recordsPerSecond: input.seconds > 0 ? assigned / input.seconds : 0,
      finalClusters: input.finalClusters,
      modelVersion: input.modelVersion,
    },
    passes: collector.passes,
    windows: collector.windows,
    events: collector.events,
    lifecycle,
    embeddings: embeddingView(input),
    profiles: input.profiles ?? [],
    configuration: input.config,
  };
}

function embeddingView(input: BuildReportInput): EmbeddingView | null {
  const sample = input.collector.lastPassSample();
  const lastPass = input.collector.passes.at(-1)?.pass ?? 1;
  if (sample.length === 0) return null;
  const rows = sample.map((p) => p.embedding);
  const tsneIndex = seededSubset(rows.length, input.tsnePoints);
  return {
    pass: lastPass,
    dim: rows[0]?.length ?? 0,
    clusters: sample.map((p) => p.cluster),
    labels: sample.map((p) => p.label ?? null),
    pca: pca2(rows),
    tsne:
      tsneIndex.length >= 2
        ? {
            index: tsneIndex,
            points: tsne2(
              tsneIndex.map((i) => rows[i] as Float32Array),
              { iterations: input.tsneIterations, seed: 0 },
            ),
            iterations: input.tsneIterations,
          }
        : null,
  };
}

/**
 * `size` distinct indices below n, seeded, in increasing order. The reservoir keeps a short pass
 * in stream order, and a data set sorted by class would otherwise give t-SNE one class only.
 */
function seededSubset(n: number, size: number): number[] {
  const index = Array.from({ length: n }, (_, i) => i);
  const take = Math.min(n, Math.max(0, size));
  const random = new SeededRandom(3);
  for (let i = 0; i < take; i++) {
    const j = i + random.nextInt(n - i);
    [index[i], index[j]] = [index[j] as number, index[i] as number];
  }
  return index.slice(0, take).sort((a, b) => a - b);
}
