/**
 * What the pipeline tells its observers after each assigned batch: the live view, the replay
 * evaluator and tests read the stream through this, never by reaching into the stages. The
 * arrays belong to the observer once delivered (the pipeline keeps no reference), so an observer
 * may keep a sample of them; it must not block, since it runs on the pipeline's thread.
 */
import type { DriftReport } from '../drift/drift-monitor.js';
import type { StreamEvent } from '../sinks/sink.js';
import type { SourceRecord } from '../sources/source.js';

export interface BatchReport {
  /** Wall-clock milliseconds when the batch was assigned. */
  at: number;
  /** The assigned records, in order. */
  records: readonly SourceRecord[];
  /** Decoded ground-truth labels (decode.labelField), undefined where a record has none. */
  labels: readonly (number | undefined)[];
  /** rows × inputDim decoded features. */
  features: Float32Array;
  inputDim: number;
  /** rows × embeddingDim embeddings the store assigned. */
  embeddings: Float32Array;
  embeddingDim: number;
  clusterIds: Int32Array;
  distances: Float32Array;
  /** The store after this batch's update. */
  centroids: { ids: Int32Array; data: Float32Array; weights: Float64Array };
  drift: DriftReport | undefined;
  /** The input-drift tests' last severity (largest statistic / critical value; above 1 is drift). */
  inputDrift?: number | undefined;
  events: readonly StreamEvent[];
  modelVersion: number;
  storeVersion: number;
  /** Loss parts of the last training step (unweighted) and the weighted total, when it trained. */
  losses: Readonly<Record<string, number>>;
}

export interface PipelineObserver {
  onBatch?(report: BatchReport): void;
  /** Called once when the pipeline has drained and closed. */
  onClose?(): void;
}
