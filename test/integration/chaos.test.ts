// The chaos run of issue #13: 200,000 records, some of them bad and some compressed by Kafka's own
// Java producer with snappy, lz4 and zstd, while a trainer worker dies, a second instance joins
// the group, the broker restarts and the second instance leaves again. At the end every valid
// record has an assignment and every invalid one a dead letter with its reason.
import { setTimeout as sleep } from 'node:timers/promises';

import { CompressionTypes } from 'kafkajs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/create-pipeline.js';
import { gzipCodec, lz4Codec, snappyCodec, zstdCodec } from '../../src/kafka/codecs.js';
import {
  NOTHING_LOST,
  badInputs,
  checkCoverage,
  faultInput,
  losses,
  pipelineTopics,
  sumOffsets,
  waitForEndCommitted,
  type PipelineTopics,
} from '../helpers/fault-records.js';
import { kafkaLibs, runKafkaTool } from '../helpers/java-console.js';
import { KafkaBroker } from '../helpers/kafka-broker.js';
import { KafkaHelpers, describeWithKafka, waitFor, type ProducedRecord } from '../helpers/kafka.js';
import { PLUMBING_TRAINING } from '../helpers/plumbing.js';

const PARTITIONS = 6;
const VALID_RECORDS = 200_000;
const SLICE = 5_000;
/** Slices from this one on are produced mid-run, while both instances run. */
const WHILE_BOTH_FROM = 24;
/** Slices from this one on are produced after the second instance left. */
const AFTER_LEAVE_FROM = 36;
const OUTAGE_MS = 5_000;
const MAX_RECORD_BYTES = 2_048;

type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
const JAVA_CODECS = ['snappy', 'lz4', 'zstd'] as const;
const KAFKAJS_COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

interface Slice {
  codec: Codec;
  records: ProducedRecord[];
}

/**
 * Slices of SLICE records: every seventh from the fourth on goes to the Java console producer
 * (snappy, lz4, zstd in turn: each codec before the start and again mid-run); the others
 * alternate between kafkajs' gzip and no compression.
 */
function slicePlan(records: readonly ProducedRecord[]): Slice[] {
  const slices: Slice[] = [];
  let java = 0;
  for (let i = 0; i * SLICE < records.length; i += 1) {
    const codec: Codec =
      i % 7 === 3 ? JAVA_CODECS[java++ % JAVA_CODECS.length]! : i % 2 === 0 ? 'gzip' : 'none';
    slices.push({ codec, records: records.slice(i * SLICE, (i + 1) * SLICE) });
  }
  return slices;
}

/**
 * Produces the slices in order. The Java console producer takes text lines, so the bad records
 * of its slices (null values, bytes that are not UTF-8) go through kafkajs; its own records are
 * partitioned by the hash of their keys.
 */
async function produceSlices(
  kafka: KafkaHelpers,
  libs: string,
  topic: string,
  slices: readonly Slice[],
  invalid: ReadonlyMap<string, string>,
): Promise<number> {
  let byJava = 0;
  const producer = kafka.createKafka().producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const send = (records: readonly ProducedRecord[], codec: 'none' | 'gzip') =>
      producer.send({
        topic,
        acks: -1,
        compression: KAFKAJS_COMPRESSION[codec],
        messages: records.map((r) => ({
          key: r.key ?? null,
          value: r.value,
          ...(r.partition === undefined ? {} : { partition: r.partition }),
        })),
      });
    for (const { codec, records } of slices) {
      if (codec === 'none' || codec === 'gzip') {
        await send(records, codec);
        continue;
      }
      const [bad, good] = [
        records.filter((r) => invalid.has(r.key ?? '')),
        records.filter((r) => !invalid.has(r.key ?? '')),
      ];
      if (bad.length > 0) await send(bad, 'none');
      await runKafkaTool(
        libs,
        'org.apache.kafka.tools.ConsoleProducer',
        [
          ...['--bootstrap-server', kafka.brokers.join(','), '--topic', topic],
          ...['--compression-codec', codec, '--batch-size', '262144'],
          ...['--property', 'parse.key=true', '--property', 'key.separator=|'],
        ],
        good.map((r) => `${r.key}|${String(r.value)}`).join('\n') + '\n',
      );
      byJava += good.length;
    }
  } finally {
    await producer.disconnect();
  }
  return byJava;
}

const since = (from: number, to: number): string => ((to - from) / 1000).toFixed(1);

function instanceConfig(brokers: readonly string[], topics: PipelineTopics, workers: number) {
  return validateConfig({
    source: 'kafka',
    // A send hung across the restart is abandoned and retried on a fresh producer after 10 s.
    kafka: { brokers, ...topics, writeTimeoutMs: 10_000, lagIntervalMs: 0 },
    decode: { dim: 8, maxRecordBytes: MAX_RECORD_BYTES },
    // Small and mostly untrained: the run checks delivery, and two instances share two cores.
    // Every batch is still embedded by a worker, so a dead worker is felt.
    model: { workers, hiddenLayers: [32], embeddingDim: 8 },
    batch: { size: 512 },
    cluster: { k: 5 },
    training: { ...PLUMBING_TRAINING, mode: 'fraction', fraction: 0.1 },
    http: { enabled: false },
    log: { level: 'warn', statusIntervalMs: 0 },
  });
}

interface Instance {
  readonly pipeline: Pipeline;
  /** The last warnings, errors and group events it logged. */
  log(): string;
  /** Rejects when run() fails, or ends before stop() was called; never resolves. */
  readonly ended: Promise<never>;
  /** Stops it and waits until it drained; the same promise on every call. */
  stop(): Promise<void>;
}

const GROUP_EVENT = /kafkajs: (Starting|Stopped|Consumer has joined|Crash)|consuming|stopping/;
// Repeated for every connection while the broker is away; the crash that follows says it.
const CONNECTION_NOISE = /Connection error|Failed to connect to seed broker/;

async function startInstance(name: string, config: Config): Promise<Instance> {
  const lines: string[] = [];
  const pipeline = await createPipeline(config, {
    // Bounded: a broker restart makes kafkajs warn for every connection. Warnings, and the
    // group's comings and goings (kafkajs' info lines arrive as debug).
    logger: createLogger('debug', (line) => {
      if (/ (DEBUG|INFO) /.test(line) && !GROUP_EVENT.test(line)) return;
      if (CONNECTION_NOISE.test(line)) return;
      if (lines.push(line) > 200) lines.shift();
    }),
    metrics: new Metrics({ defaultMetrics: false }),
  });
  let stopping = false;
  let stopped: Promise<void> | undefined;
  const running = pipeline.run();
  const ended = running.then(
    () => {
      if (!stopping) throw new Error(`instance ${name} stopped by itself`);
      return new Promise<never>(() => {});
    },
    (error: unknown) => {
      throw new Error(`instance ${name} failed: ${String(error)}`, { cause: error });
    },
  );
  // Raced against every wait; a failure after its stop() surfaces from stop() instead.
  ended.catch(() => {});
  return {
    pipeline,
    log: () => lines.slice(-25).join('\n'),
    ended,
    stop: () => {
      stopping = true;
      stopped ??= pipeline.stop().then(() => running);
      return stopped;
    },
  };
}

// describeWithKafka: the shared broker stands for "this machine can run Kafka"; the test runs
// its own, since restarting the shared one would break every other test.
describeWithKafka('chaos: every fault of issue #13 in one run of 200,000 records', () => {
  let broker: KafkaBroker;
  let libs = '';
  beforeAll(async () => {
    [broker, libs] = await Promise.all([KafkaBroker.start(), kafkaLibs()]);
  }, 600_000);
  afterAll(async () => {
    await broker?.destroy();
  });

  it('a broker restart, a killed worker, every codec and a join and leave lose no record', async () => {
    const started = Date.now();
    const kafka = new KafkaHelpers(broker.brokers);
    const topics = pipelineTopics('chaos');
    await kafka.createTopic(topics.inputTopic, PARTITIONS);
    const bad = badInputs({ dim: 8, maxRecordBytes: MAX_RECORD_BYTES });
    const input = faultInput({
      count: VALID_RECORDS,
      partitions: PARTITIONS,
      seed: 97,
      badEvery: 2_000,
      bad,
    });
    const slices = slicePlan(input.records);
    let byJava = await produceSlices(
      kafka,
      libs,
      topics.inputTopic,
      slices.slice(0, WHILE_BOTH_FROM),
      input.invalid,
    );
    const producedAt = Date.now();
    const decompressed = [gzipCodec, snappyCodec, lz4Codec, zstdCodec].map((codec) =>
      vi.spyOn(codec, 'decompress'),
    );
    const committed = async (): Promise<number> =>
      sumOffsets(await kafka.committedOffsets(topics.groupId, topics.inputTopic));

    const a = await startInstance('A', instanceConfig(kafka.brokers, topics, 2));
    let b: Instance | undefined;
    // The statuses last: a CI log shows a failure message's tail.
    const logs = (): string =>
      `A:\n${a.log()}\nB:\n${b?.log() ?? ''}\n` +
      `A: ${JSON.stringify(a.pipeline.status())}\nB: ${JSON.stringify(b?.pipeline.status())}`;
    // Every wait ends early, with the reason, when an instance fails or stops by itself.
    const watched = <T>(wait: Promise<T>): Promise<T> =>
      Promise.race([wait, a.ended, ...(b === undefined ? [] : [b.ended])]);
    const committedAbove = (floor: number, what: string, timeoutMs = 120_000) =>
      watched(
        waitFor(async () => (await committed()) > floor, {
          timeoutMs,
          intervalMs: 200,
          message: () => `${what}; ${logs()}`,
        }),
      );
    let bAssigned: number;
    // Records the group had committed when each fault began, for the summary line.
    const faultsAt: string[] = [];
    const produced = async (): Promise<number> =>
      sumOffsets(await kafka.endOffsets(topics.inputTopic));
    const mark = async (fault: string): Promise<number> => {
      const [done, all] = await Promise.all([committed(), produced()]);
      faultsAt.push(`${fault} ${done}/${all}`);
      return done;
    };
    try {
      await committedAbove(10_000, 'instance A committed nothing');

      // A worker of A dies mid-stream; the pool rebuilds it from the other replica's weights.
      await mark('kill');
      const thread = a.pipeline.trainer!.threads[0]!;
      await thread.terminate();
      await watched(
        waitFor(() => a.pipeline.status().workerRestarts >= 1, {
          timeoutMs: 60_000,
          message: () => `the killed worker was never replaced; ${logs()}`,
        }),
      );

      // B joins: the group rebalances and B takes over some partitions.
      await mark('join');
      b = await startInstance('B', instanceConfig(kafka.brokers, topics, 1));
      const joined = b;
      await watched(
        waitFor(() => joined.pipeline.status().recordsAssigned >= 2_000, {
          timeoutMs: 120_000,
          intervalMs: 200,
          message: () => `instance B never assigned records; ${logs()}`,
        }),
      );

      // More of the stream arrives while both run, Java slices included.
      byJava += await produceSlices(
        kafka,
        libs,
        topics.inputTopic,
        slices.slice(WHILE_BOTH_FROM, AFTER_LEAVE_FROM),
        input.invalid,
      );

      // The broker goes away under both instances and comes back on the same port and data.
      const beforeOutage = await mark('restart');
      await broker.stop();
      await sleep(OUTAGE_MS);
      await broker.restart();
      await committedAbove(beforeOutage, 'the group committed nothing after the broker restart');

      // B leaves: the group rebalances again and A takes all partitions back. The last slices
      // are produced only now, so the leave falls mid-stream however fast the instances are.
      await mark('leave');
      await joined.stop();
      bAssigned = joined.pipeline.status().recordsAssigned;
      b = undefined;
      byJava += await produceSlices(
        kafka,
        libs,
        topics.inputTopic,
        slices.slice(AFTER_LEAVE_FROM),
        input.invalid,
      );
      expect(await produced()).toBe(input.records.length);

      await watched(
        waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
          timeoutMs: 180_000,
          message: () => `instance A did not finish the stream; ${logs()}`,
        }),
      );
    } finally {
      // A failed wait must not leave pipelines polling a broker that afterAll destroys.
      await Promise.allSettled([a.stop(), b?.stop()]);
    }
    await a.stop();
    const drainedAt = Date.now();

    // Every codec was read by the pipelines (the input is read again below, so counted now).
    for (const [c, spy] of decompressed.entries()) {
      expect(spy, `${['gzip', ...JAVA_CODECS][c]} decompress calls`).toHaveBeenCalled();
    }
    vi.restoreAllMocks();
    expect(a.pipeline.status().workerRestarts).toBeGreaterThanOrEqual(1);
    // B took part: it assigned records of its own between its join and its leave.
    expect(bAssigned).toBeGreaterThan(0);

    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(input.valid);
    expect(coverage.invalid).toBe(input.invalid.size);
    // Printed: how much was written twice (at-least-once) is worth watching across runs.
    console.log(
      `chaos: ${coverage.produced} records (${coverage.valid} valid, ${coverage.invalid} invalid, ` +
        `${byJava} from the Java producer), ${coverage.assignments} assignments, ` +
        `${coverage.duplicateAssignments} duplicates, B assigned ${bAssigned}, ` +
        `${a.pipeline.status().workerRestarts} worker restart(s), ` +
        `committed/produced at each fault: ${faultsAt.join(', ')}; ` +
        `${since(started, producedAt)} s producing the first slices, ${since(producedAt, drainedAt)} s running, ` +
        `${since(drainedAt, Date.now())} s checking`,
    );
  }, 300_000);
});
