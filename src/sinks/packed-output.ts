/**
 * A batch's outputs packed to cross to the Kafka sink's thread (kafka-sink-thread.ts) in a few
 * transferred buffers instead of an object per record: the assignments' numbers in one
 * Float64Array, their keys end to end in one byte array, their offsets joined into one string.
 * Dead letters and events are rare; they go as they are, their bytes copied out of the fetch
 * buffers first (a view would otherwise take the whole buffer under it along by structured
 * clone). Unpacking gives the records' written fields back exactly: numbers as doubles, keys byte
 * for byte, null keys as null.
 */
import type { StreamEvent, WrittenAssignment, WrittenDeadLetter, WrittenOutput } from './sink.js';

/** The numbers of one assignment, in this order, in `PackedAssignments.numbers`. */
const FIELDS = 7;
const PARTITION = 0;
const TIMESTAMP = 1;
const CLUSTER = 2;
const DISTANCE = 3;
const OUTLIER = 4;
const MODEL_VERSION = 5;
const STORE_VERSION = 6;

export interface PackedAssignments {
  count: number;
  /** count × 7: partition, event time, cluster id, distance, outlier (1/0), model and store version. */
  numbers: Float64Array;
  /** Every key's bytes end to end; key i is keys[keyStarts[i], keyStarts[i + 1]). */
  keys: Uint8Array;
  keyStarts: Int32Array;
  /** 1 where the key is null. */
  keyNull: Uint8Array;
  /** The offsets, joined by commas (decimal strings have none). */
  offsets: string;
  /** The distinct topics, and each record's index among them. */
  topics: string[];
  topicIndex: Uint16Array;
}

interface PortableDeadLetter {
  reason: string;
  message: string;
  record: {
    topic: string;
    partition: number;
    offset: string;
    timestamp: number;
    key: Uint8Array | null;
    value: Uint8Array | null;
    headers?: Record<string, Uint8Array | string | (Uint8Array | string)[] | undefined>;
  };
}

export interface PackedOutput {
  assignments: PackedAssignments;
  deadLetters: PortableDeadLetter[];
  events?: readonly StreamEvent[];
  offsets?: WrittenOutput['offsets'];
}

/** Packs a batch's outputs; `transfer` lists the buffers to hand over instead of copying. */
export function packOutput(output: WrittenOutput): {
  packed: PackedOutput;
  transfer: ArrayBuffer[];
} {
  const assignments = packAssignments(output.assignments);
  const packed: PackedOutput = {
    assignments,
    deadLetters: output.deadLetters.map(portableDeadLetter),
    ...(output.events === undefined ? {} : { events: output.events }),
    ...(output.offsets === undefined ? {} : { offsets: output.offsets }),
  };
  const transfer = [
    assignments.numbers.buffer,
    assignments.keys.buffer,
    assignments.keyStarts.buffer,
    assignments.keyNull.buffer,
    assignments.topicIndex.buffer,
  ] as ArrayBuffer[];
  return { packed, transfer };
}

/** The outputs a PackedOutput was made of, with the written fields of their records. */
export function unpackOutput(packed: PackedOutput): WrittenOutput {
  return {
    assignments: unpackAssignments(packed.assignments),
    deadLetters: packed.deadLetters.map(writtenDeadLetter),
    ...(packed.events === undefined ? {} : { events: packed.events }),
    ...(packed.offsets === undefined ? {} : { offsets: packed.offsets }),
  };
}

function packAssignments(list: readonly WrittenAssignment[]): PackedAssignments {
  const n = list.length;
  const numbers = new Float64Array(n * FIELDS);
  const keyStarts = new Int32Array(n + 1);
  const keyNull = new Uint8Array(n);
  const topicIndex = new Uint16Array(n);
  const topics: string[] = [];
  const offsets: string[] = new Array<string>(n);
  let keyBytes = 0;
  let lastTopic = '';
  let lastIndex = -1;
  for (let i = 0; i < n; i++) {
    const a = list[i]!;
    const r = a.record;
    const at = i * FIELDS;
    numbers[at + PARTITION] = r.partition;
    numbers[at + TIMESTAMP] = r.timestamp;
    numbers[at + CLUSTER] = a.clusterId;
    numbers[at + DISTANCE] = a.distance;
    numbers[at + OUTLIER] = a.outlier ? 1 : 0;
    numbers[at + MODEL_VERSION] = a.modelVersion;
    numbers[at + STORE_VERSION] = a.storeVersion;
    offsets[i] = r.offset;
    if (r.topic !== lastTopic || lastIndex < 0) {
      lastIndex = topics.indexOf(r.topic);
      if (lastIndex < 0) lastIndex = topics.push(r.topic) - 1;
      lastTopic = r.topic;
    }
    topicIndex[i] = lastIndex;
    keyStarts[i] = keyBytes;
    if (r.key === null) keyNull[i] = 1;
    else keyBytes += r.key.length;
  }
  keyStarts[n] = keyBytes;
  const keys = new Uint8Array(keyBytes);
  for (let i = 0; i < n; i++) {
    const key = list[i]!.record.key;
    if (key !== null) keys.set(key, keyStarts[i]!);
  }
  if (topics.length > 0xffff)
    throw new RangeError('packOutput: more than 65,535 topics in a batch');
  return {
    count: n,
    numbers,
    keys,
    keyStarts,
    keyNull,
    offsets: offsets.join(','),
    topics,
    topicIndex,
  };
}

function unpackAssignments(p: PackedAssignments): WrittenAssignment[] {
  const offsets = p.count === 0 ? [] : p.offsets.split(',');
  const keys = Buffer.from(p.keys.buffer, p.keys.byteOffset, p.keys.length);
  const out = new Array<WrittenAssignment>(p.count);
  for (let i = 0; i < p.count; i++) {
    const at = i * FIELDS;
    out[i] = {
      record: {
        topic: p.topics[p.topicIndex[i]!]!,
        partition: p.numbers[at + PARTITION]!,
        offset: offsets[i]!,
        key: p.keyNull[i] === 1 ? null : keys.subarray(p.keyStarts[i]!, p.keyStarts[i + 1]!),
        value: null,
        timestamp: p.numbers[at + TIMESTAMP]!,
      },
      clusterId: p.numbers[at + CLUSTER]!,
      distance: p.numbers[at + DISTANCE]!,
      outlier: p.numbers[at + OUTLIER] === 1,
      modelVersion: p.numbers[at + MODEL_VERSION]!,
      storeVersion: p.numbers[at + STORE_VERSION]!,
    };
  }
  return out;
}

/** A copy of a buffer's bytes in an ArrayBuffer of their own. */
const own = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length);

/** Headers whose byte values are of type B. */
type Headers<B> = Record<string, B | string | (B | string)[] | undefined>;

/** A dead letter with each of its byte values (key, value, header values) mapped by `bytes`. */
function mapDeadLetterBytes<A extends Uint8Array, B extends Uint8Array>(
  d: {
    reason: string;
    message: string;
    record: Omit<WrittenDeadLetter['record'], 'key' | 'value' | 'headers'> & {
      key: A | null;
      value: A | null;
      headers?: Headers<A>;
    };
  },
  bytes: (b: A) => B,
) {
  const r = d.record;
  const one = (v: A | string): B | string => (typeof v === 'string' ? v : bytes(v));
  let headers: Headers<B> | undefined;
  if (r.headers !== undefined) {
    headers = {};
    for (const [name, value] of Object.entries(r.headers)) {
      headers[name] = Array.isArray(value)
        ? value.map(one)
        : value === undefined
          ? value
          : one(value);
    }
  }
  return {
    reason: d.reason,
    message: d.message,
    record: {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key === null ? null : bytes(r.key),
      value: r.value === null ? null : bytes(r.value),
      ...(headers === undefined ? {} : { headers }),
    },
  };
}

function portableDeadLetter(d: WrittenDeadLetter): PortableDeadLetter {
  return mapDeadLetterBytes(d, own);
}

function writtenDeadLetter(d: PortableDeadLetter): WrittenDeadLetter {
  return mapDeadLetterBytes(d, asBuffer);
}
