/**
 * What the pipeline writes once per batch, and the sink contract: `write` resolves only when
 * the destination acknowledged everything (the broker with acks=all, or the file stream), since
 * the source commits right after.
 */
import { isUtf8 } from 'node:buffer';

import type { SourceRecord } from '../sources/source.js';

/** The fields of a source record that the sinks write (what crosses to the sink thread). */
export type WrittenRecord = Pick<
  SourceRecord,
  'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers' | 'timestamp'
>;

export interface Assignment {
  record: SourceRecord;
  clusterId: number;
  distance: number;
  /** Farther from its centroid than the cluster's recent cluster.outlierQuantile of distances. */
  outlier: boolean;
  modelVersion: number;
  storeVersion: number;
}

export interface DeadLetter {
  record: SourceRecord;
  reason: string;
  message: string;
}

/** A cluster lifecycle event or a drift incident opening or closing, for the events topic or file. */
export interface StreamEvent {
  type: 'lifecycle' | 'drift';
  kind: string;
  /** JSON-serialisable details (cluster ids, statistic, window, versions). */
  detail: Record<string, unknown>;
  /** Wall-clock milliseconds when the pipeline raised it. */
  at: number;
}

export interface BatchOutput {
  assignments: readonly Assignment[];
  deadLetters: readonly DeadLetter[];
  events?: readonly StreamEvent[];
  /**
   * Exactly-once only: the input offsets these outputs complete, committed by the sink in the
   * same transaction as the outputs.
   */
  offsets?: readonly { topic: string; partition: number; offset: string }[];
}

export interface Sink {
  write(output: BatchOutput): Promise<void>;
  close(): Promise<void>;
}

/** An assignment as written: its record's written fields only. */
export type WrittenAssignment = Omit<Assignment, 'record'> & { record: WrittenRecord };

/** A dead letter as written: its record's written fields only. */
export type WrittenDeadLetter = Omit<DeadLetter, 'record'> & { record: WrittenRecord };

/** A batch's outputs as a sink writes them; every BatchOutput is one. */
export interface WrittenOutput {
  assignments: readonly WrittenAssignment[];
  deadLetters: readonly WrittenDeadLetter[];
  events?: readonly StreamEvent[];
  offsets?: BatchOutput['offsets'];
}

/** A sink that needs only the written fields: the Kafka sink, on either thread. */
export interface OutputSink extends Sink {
  write(output: WrittenOutput): Promise<void>;
}

/**
 * The JSON text of an assignment record, the same on every sink:
 * `{"key":…,"topic":…,"partition":…,"offset":…,"clusterId":…,"distance":…,"modelVersion":…,
 * "storeVersion":…,"eventTime":…}`, with `"keyBase64"` after `"key":null` when the key is not
 * valid UTF-8 (a lossy decode would mangle it). Written as text directly: it runs once per
 * record (on the Kafka sink's thread by default, on the main thread for the other sinks and
 * with `kafka.producerThread: main`), where building an object and stringifying it cost 7 % of
 * the main thread's time in the throughput benchmark.
 */
export function assignmentJson(a: WrittenAssignment, origin = ''): string {
  const r = a.record;
  return `{${jsonKey(r.key)},"topic":${jsonTopic(r.topic)},"partition":${r.partition},"offset":${JSON.stringify(r.offset)},"clusterId":${a.clusterId},"distance":${jsonNumber(a.distance)},"outlier":${a.outlier},"modelVersion":${a.modelVersion},"storeVersion":${a.storeVersion},"eventTime":${jsonNumber(r.timestamp)}${origin}}`;
}

/**
 * The end of every assignment a process writes: `,"instance":…,"run":…`. The run id is drawn
 * at start, so (run, modelVersion) names one model state even when a restart without a
 * checkpoint counts model versions from 0 again.
 */
export function assignmentOrigin(instance: string, run: string): string {
  return `,"instance":${JSON.stringify(instance)},"run":${JSON.stringify(run)}`;
}

/** The record key in JSON: as text when it is valid UTF-8, else as `keyBase64` (`key` null). */
function jsonKey(key: Buffer | null): string {
  if (key === null) return '"key":null';
  return isUtf8(key)
    ? `"key":${JSON.stringify(key.toString('utf8'))}`
    : `"key":null,"keyBase64":"${key.toString('base64')}"`;
}

/** Topic names repeat on every record: quoted once each. */
const quotedTopics = new Map<string, string>();
function jsonTopic(topic: string): string {
  let quoted = quotedTopics.get(topic);
  if (quoted === undefined) {
    quoted = JSON.stringify(topic);
    if (quotedTopics.size < 1024) quotedTopics.set(topic, quoted);
  }
  return quoted;
}

/** A number as JSON writes it: null when it is not finite. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** The JSON form of a dead letter for file sinks (Kafka keeps the original bytes as the value). */
export function deadLetterValue(d: WrittenDeadLetter): Record<string, unknown> {
  return {
    reason: d.reason,
    message: d.message,
    topic: d.record.topic,
    partition: d.record.partition,
    offset: d.record.offset,
    key: d.record.key === null ? null : d.record.key.toString('base64'),
    value: d.record.value === null ? null : d.record.value.toString('base64'),
  };
}
