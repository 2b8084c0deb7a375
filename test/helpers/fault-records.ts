/**
 * What the Kafka stream tests share: an input stream of a seeded mixture with every bad-input
 * kind mixed in, each test's own topics, the command line of a Kafka pipeline process, a run of
 * an in-process pipeline until the topic is drained, and the check every fault test ends
 * with: each valid input record has at least one assignment, each invalid one a dead-letter
 * record with its original bytes, its source coordinates and the expected reason, and nothing
 * else (no assignment for an invalid record, no dead letter for a valid one).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { Pipeline } from '../../src/pipeline/create-pipeline.js';
import type { CliProcess } from './cli-process.js';
import {
  uniqueName,
  waitFor,
  type ConsumedRecord,
  type KafkaHelpers,
  type ProducedRecord,
} from './kafka.js';
import { mixtureRecords } from './mixture-records.js';
import { PLUMBING_TRAINING_ARGS } from './plumbing.js';

export interface BadInput {
  /** What is wrong with it, for messages (the reason code can be shared by several kinds). */
  kind: string;
  value: string | Buffer | null;
  reason: string;
}

/**
 * One record of every bad-input kind the decoder must reject, for vectors of length `dim` and
 * a `maxRecordBytes` limit. JSON cannot carry NaN or Infinity: the literal `NaN` is not JSON at
 * all (malformed_json), while `1e999` is valid JSON that parses to Infinity (non_finite).
 */
export function badInputs(options: { dim: number; maxRecordBytes: number }): BadInput[] {
  const vector = (values: unknown[]): string => `{"features": [${values.join(', ')}]}`;
  const ones = (n: number): number[] => Array.from({ length: n }, () => 1);
  const padding = 'x'.repeat(options.maxRecordBytes);
  return [
    { kind: 'truncated JSON', value: '{"features": [1, 2,', reason: 'malformed_json' },
    {
      kind: 'literal NaN',
      value: vector(['NaN', ...ones(options.dim - 1)]),
      reason: 'malformed_json',
    },
    { kind: 'string vector', value: '{"features": "1,2,3"}', reason: 'wrong_type' },
    {
      kind: 'string element',
      value: vector(['"1"', ...ones(options.dim - 1)]),
      reason: 'wrong_type',
    },
    {
      kind: 'null element',
      value: vector(['null', ...ones(options.dim - 1)]),
      reason: 'wrong_type',
    },
    { kind: 'missing field', value: '{"other": [1, 2, 3]}', reason: 'missing_field' },
    { kind: '+Infinity', value: vector(['1e999', ...ones(options.dim - 1)]), reason: 'non_finite' },
    {
      kind: '-Infinity',
      value: vector([...ones(options.dim - 1), '-1e999']),
      reason: 'non_finite',
    },
    { kind: 'short vector', value: vector(ones(2)), reason: 'wrong_length' },
    { kind: 'long vector', value: vector(ones(options.dim + 1)), reason: 'wrong_length' },
    { kind: 'empty vector', value: '{"features": []}', reason: 'wrong_length' },
    {
      // Valid JSON with a valid vector: only its size is wrong.
      kind: 'oversize',
      value: `{"features": [${ones(options.dim).join(', ')}], "pad": "${padding}"}`,
      reason: 'oversize',
    },
    { kind: 'empty value', value: Buffer.alloc(0), reason: 'empty_value' },
    { kind: 'null value', value: null, reason: 'null_value' },
    {
      kind: 'non-UTF-8 bytes',
      value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      reason: 'invalid_utf8',
    },
    {
      // A lone continuation byte inside an otherwise valid record.
      kind: 'stray continuation byte',
      value: Buffer.concat([
        Buffer.from('{"features": [1, 2'),
        Buffer.from([0x80]),
        Buffer.from(']}'),
      ]),
      reason: 'invalid_utf8',
    },
    { kind: 'JSON array', value: '[1, 2, 3]', reason: 'not_an_object' },
  ];
}

export interface FaultInput {
  records: ProducedRecord[];
  /** Key of every invalid record → the reason code its dead letter must carry. */
  invalid: Map<string, string>;
  valid: number;
}

/**
 * `count` valid records of a seeded mixture (keys `r-<i>`), with one bad record after every
 * `badEvery` valid ones (keys `bad-<n>`, cycling through `bad`), spread round-robin over
 * `partitions`. The first records are always valid: with `decode.dim` 0 the first valid record
 * fixes the dimension, so a wrong-length record first would turn the stream invalid.
 */
export function faultInput(options: {
  count: number;
  partitions: number;
  seed: number;
  dim?: number;
  clusters?: number;
  badEvery?: number;
  bad?: readonly BadInput[];
  /** Stamp every valid record with this schema version (decode.schemaVersionField). */
  schemaVersion?: { field: string; value: number | string };
}): FaultInput {
  const dim = options.dim ?? 8;
  const { records: mixture } = mixtureRecords({
    count: options.count,
    clusters: options.clusters ?? 5,
    dim,
    seed: options.seed,
  });
  const bad = options.bad ?? [];
  const invalid = new Map<string, string>();
  const records: ProducedRecord[] = [];
  let n = 0;
  const version = options.schemaVersion;
  for (const [i, record] of mixture.entries()) {
    if (version !== undefined) {
      const value = JSON.parse(String(record.value)) as Record<string, unknown>;
      record.value = JSON.stringify({ [version.field]: version.value, ...value });
    }
    records.push(record);
    if (bad.length > 0 && options.badEvery !== undefined && (i + 1) % options.badEvery === 0) {
      const b = bad[n % bad.length]!;
      const key = `bad-${n}`;
      records.push({ key, value: b.value });
      invalid.set(key, b.reason);
      n += 1;
    }
  }
  records.forEach((r, i) => (r.partition = i % options.partitions));
  return { records, invalid, valid: options.count };
}

/**
 * Produces in slices: kafkajs sends one request per call, and the broker caps its size. With
 * `pauseMs`, a pause between slices, for a stream that is still arriving while a test acts.
 */
export async function produceInSlices(
  kafka: KafkaHelpers,
  topic: string,
  records: readonly ProducedRecord[],
  slice = 5_000,
  pauseMs = 0,
): Promise<void> {
  for (let i = 0; i < records.length; i += slice) {
    await kafka.produceRaw(topic, records.slice(i, i + slice));
    if (pauseMs > 0 && i + slice < records.length) await sleep(pauseMs);
  }
}

export interface PipelineTopics {
  inputTopic: string;
  groupId: string;
  assignmentsTopic: string;
  deadLetterTopic: string;
  eventsTopic: string;
}

/** A test's own input topic, group and output topics, named `<prefix>-input` and so on. */
export function pipelineTopics(prefix: string): PipelineTopics {
  return {
    inputTopic: uniqueName(`${prefix}-input`),
    groupId: uniqueName(`${prefix}-group`),
    assignmentsTopic: uniqueName(`${prefix}-assignments`),
    deadLetterTopic: uniqueName(`${prefix}-dead-letter`),
    eventsTopic: uniqueName(`${prefix}-events`),
  };
}

/** `streamclust run` against a Kafka topic, with its outputs on the test's own topics. */
export function kafkaRunArgs(
  brokers: string,
  topics: PipelineTopics,
  extra: readonly string[] = [],
): string[] {
  return [
    'run',
    '--source',
    'kafka',
    '--brokers',
    brokers,
    '--topic',
    topics.inputTopic,
    '--group',
    topics.groupId,
    '--port',
    '0',
    '--set',
    `kafka.assignmentsTopic=${topics.assignmentsTopic}`,
    '--set',
    `kafka.deadLetterTopic=${topics.deadLetterTopic}`,
    '--set',
    `kafka.eventsTopic=${topics.eventsTopic}`,
    // These runs check delivery, not clustering quality.
    ...PLUMBING_TRAINING_ARGS,
    ...extra,
  ];
}

/** The HTTP address a CLI process logged (`url=...`; needs log level info). */
export function waitForHttpUrl(cli: CliProcess, timeoutMs = 60_000): Promise<string> {
  return waitFor(() => /url=(http:\/\/\S+)/.exec(cli.stderr())?.[1], {
    timeoutMs,
    message: () => `the process logged no url=; stderr: ${cli.stderr().slice(-2000)}`,
  });
}

export const sumOffsets = (m: Map<number, string>): number =>
  [...m.values()].reduce((a, v) => a + Number(v), 0);

/** Waits until the group committed the topic's end offsets (read once, when called). */
export async function waitForEndCommitted(
  kafka: KafkaHelpers,
  groupId: string,
  topic: string,
  options: { timeoutMs: number; message: () => string },
): Promise<Map<number, string>> {
  const ends = await kafka.endOffsets(topic);
  // Said at the end of a failure's message (what a CI log's tail shows): how far each
  // partition got, and who was in the group then.
  let committed = new Map<number, string>();
  let group = { state: 'unknown', members: 0 };
  await waitFor(
    async () => {
      committed = await kafka.committedOffsets(groupId, topic);
      if ([...ends].every(([p, end]) => committed.get(p) === end)) return true;
      group = await kafka.groupMembers(groupId);
      return false;
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 500,
      message: () =>
        `${options.message()}\ncommitted/end by partition: ` +
        [...ends].map(([p, end]) => `${p}: ${committed.get(p) ?? 'none'}/${end}`).join(', ') +
        `; group ${group.state} with ${group.members} member(s)`,
    },
  );
  return ends;
}

/**
 * Runs an in-process pipeline until its group has committed the input topic's end offsets,
 * calls `whileRunning` (checks that need the pipeline still up, e.g. its /metrics), then stops
 * it, also when the wait or the checks fail.
 */
export async function runUntilDrained(
  pipeline: Pipeline,
  kafka: KafkaHelpers,
  topics: PipelineTopics,
  whileRunning: () => Promise<void> = async () => undefined,
): Promise<void> {
  const running = pipeline.run();
  try {
    await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
      timeoutMs: 120_000,
      message: () =>
        `the group did not commit the end offsets: ${JSON.stringify(pipeline.status())}`,
    });
    await whileRunning();
  } finally {
    await pipeline.stop();
    await running;
  }
}

export interface Coverage {
  produced: number;
  valid: number;
  invalid: number;
  assignments: number;
  deadLetters: number;
  /** Valid records without an assignment (`partition/offset key`). */
  unassigned: string[];
  /** Invalid records that were assigned anyway. */
  assignedInvalid: string[];
  /** Invalid records without a dead letter. */
  missingDeadLetters: string[];
  /** Dead letters whose reason, bytes, key or source topic differ from the input record. */
  wrongDeadLetters: string[];
  /** Dead letters for valid records, or for coordinates that do not exist. */
  unexpectedDeadLetters: string[];
  /** Records written more than once (at-least-once allows it; reported, not an error). */
  duplicateAssignments: number;
  /** Dead-letter count per reason. */
  reasons: Record<string, number>;
}

const at = (partition: number | string, offset: string): string => `${partition}/${offset}`;

/** Reads the input and both output topics and compares them record by record. */
export async function checkCoverage(
  kafka: KafkaHelpers,
  topics: Pick<PipelineTopics, 'inputTopic' | 'assignmentsTopic' | 'deadLetterTopic'>,
  invalid: ReadonlyMap<string, string>,
): Promise<Coverage> {
  const readOptions = { timeoutMs: 120_000 };
  const [produced, assignmentRecords, deadLetters] = await Promise.all([
    kafka.readAll(topics.inputTopic, readOptions),
    kafka.readAll(topics.assignmentsTopic, readOptions),
    kafka.readAll(topics.deadLetterTopic, readOptions),
  ]);
  const assigned = new Map<string, number>();
  for (const r of assignmentRecords) {
    const a = JSON.parse(r.value!.toString()) as { partition: number; offset: string };
    const c = at(a.partition, a.offset);
    assigned.set(c, (assigned.get(c) ?? 0) + 1);
  }
  const byCoordinate = new Map<string, ConsumedRecord[]>();
  for (const d of deadLetters) {
    const c = at(
      d.headers['streamclust.source.partition'] ?? '?',
      d.headers['streamclust.source.offset'] ?? '?',
    );
    byCoordinate.set(c, [...(byCoordinate.get(c) ?? []), d]);
  }
  const coverage: Coverage = {
    produced: produced.length,
    valid: 0,
    invalid: 0,
    assignments: assignmentRecords.length,
    deadLetters: deadLetters.length,
    unassigned: [],
    assignedInvalid: [],
    missingDeadLetters: [],
    wrongDeadLetters: [],
    unexpectedDeadLetters: [],
    duplicateAssignments: [...assigned.values()].reduce((n, v) => n + v - 1, 0),
    reasons: {},
  };
  const inputCoordinates = new Set<string>();
  for (const r of produced) {
    const c = at(r.partition, r.offset);
    const name = `${c} ${r.key ?? '(no key)'}`;
    inputCoordinates.add(c);
    const reason = invalid.get(r.key ?? '');
    if (reason === undefined) {
      coverage.valid += 1;
      if (!assigned.has(c)) coverage.unassigned.push(name);
      if (byCoordinate.has(c)) coverage.unexpectedDeadLetters.push(name);
      continue;
    }
    coverage.invalid += 1;
    if (assigned.has(c)) coverage.assignedInvalid.push(name);
    const letters = byCoordinate.get(c);
    if (letters === undefined) {
      coverage.missingDeadLetters.push(name);
      continue;
    }
    for (const d of letters) {
      const problems: string[] = [];
      const got = d.headers['streamclust.reason'];
      if (got !== reason) problems.push(`reason ${got} instead of ${reason}`);
      if (d.headers['streamclust.source.topic'] !== topics.inputTopic)
        problems.push('source topic');
      if (d.key !== r.key) problems.push(`key ${d.key}`);
      if (d.value?.toString('hex') !== r.value?.toString('hex')) problems.push('bytes differ');
      if (problems.length > 0) coverage.wrongDeadLetters.push(`${name}: ${problems.join(', ')}`);
    }
  }
  for (const [c, letters] of byCoordinate) {
    if (!inputCoordinates.has(c)) coverage.unexpectedDeadLetters.push(`${c} (no such input)`);
    for (const d of letters) {
      const reason = d.headers['streamclust.reason'] ?? '(none)';
      coverage.reasons[reason] = (coverage.reasons[reason] ?? 0) + 1;
    }
  }
  return coverage;
}

/** The parts of a coverage report that must be empty when nothing was lost. */
export function losses(coverage: Coverage): Record<string, string[]> {
  return {
    unassigned: coverage.unassigned.slice(0, 20),
    assignedInvalid: coverage.assignedInvalid.slice(0, 20),
    missingDeadLetters: coverage.missingDeadLetters.slice(0, 20),
    wrongDeadLetters: coverage.wrongDeadLetters.slice(0, 20),
    unexpectedDeadLetters: coverage.unexpectedDeadLetters.slice(0, 20),
  };
}

export const NOTHING_LOST = {
  unassigned: [],
  assignedInvalid: [],
  missingDeadLetters: [],
  wrongDeadLetters: [],
  unexpectedDeadLetters: [],
};
