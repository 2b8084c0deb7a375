/**
 * What the pipeline writes once per batch, and the sink contract: `write` resolves only when
 * the destination acknowledged everything (the broker with acks=all, or the file stream), since
 * the source commits right after.
 */
import type { SourceRecord } from '../sources/source.js';

export interface Assignment {
  record: SourceRecord;
  clusterId: number;
  distance: number;
  modelVersion: number;
  storeVersion: number;
}

export interface DeadLetter {
  record: SourceRecord;
  reason: string;
  message: string;
}

/** A cluster lifecycle event or a drift alarm, for the events topic or file. */
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

/** The JSON value of an assignment record, the same on every sink. */
export function assignmentValue(a: Assignment): Record<string, unknown> {
  return {
    ...jsonKey(a.record.key),
    topic: a.record.topic,
    partition: a.record.partition,
    offset: a.record.offset,
    clusterId: a.clusterId,
    distance: a.distance,
    modelVersion: a.modelVersion,
    storeVersion: a.storeVersion,
    eventTime: a.record.timestamp,
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The record key in JSON: as text when it is valid UTF-8, else as `keyBase64` (and `key: null`),
 * so that a binary key is never mangled by a lossy decode.
 */
function jsonKey(key: Buffer | null): { key: string | null; keyBase64?: string } {
  if (key === null) return { key: null };
  try {
    return { key: strictUtf8.decode(key) };
  } catch {
    return { key: null, keyBase64: key.toString('base64') };
  }
}

/** The JSON form of a dead letter for file sinks (Kafka keeps the original bytes as the value). */
export function deadLetterValue(d: DeadLetter): Record<string, unknown> {
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
