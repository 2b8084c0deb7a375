// Faults that used to stall the pipeline for good without a word (issue #13): each scenario ends
// within a bounded time, healed or stopped with its error and exit code, with no record lost.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { describeRefusal } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import {
  KafkaHelpers,
  createKafka,
  createTopic,
  describeWithKafka,
  kafkaBrokers,
  uniqueName,
  waitFor,
} from '../helpers/kafka.js';
import {
  NOTHING_LOST,
  checkCoverage,
  faultInput,
  losses,
  pipelineTopics,
  produceInSlices,
  kafkaRunArgs,
  runUntilDrained,
  sumOffsets,
  waitForEndCommitted,
  waitForHttpUrl,
} from '../helpers/fault-records.js';
import { startCli } from '../helpers/cli-process.js';
import { PLUMBING_TRAINING } from '../helpers/plumbing.js';

// These faults are in the source, the sinks and the store: without a network (model.kind none)
// each run is seconds shorter. The poison-record test keeps the network, whose size the first
// record used to decide.
function config(topics: ReturnType<typeof pipelineTopics>, extra: Record<string, unknown> = {}) {
  return validateConfig({
    source: 'kafka',
    kafka: { brokers: kafkaBrokers(), ...topics },
    model: { kind: 'none' },
    training: PLUMBING_TRAINING,
    http: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
    ...extra,
  });
}

describeWithKafka('stalls that end (real broker)', () => {
  it('a quiet topic at start: fewer than k records wait in the warm-up, the source reads on, nothing is lost', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('quiet-start');
    await createTopic(topics.inputTopic, 1);
    const input = faultInput({ count: 2_000, partitions: 1, seed: 5 });
    // Three records at start, k = 8: before the fix the consumer waited on them for ever.
    await kafka.produceRaw(topics.inputTopic, input.records.slice(0, 3));
    const lines: string[] = [];
    const pipeline = await createPipeline(
      config(topics, {
        cluster: { k: 8, warmupSize: 400, warmupMaxWaitMs: 500 },
        kafka: { brokers: kafkaBrokers(), ...topics, partitionsConsumedConcurrently: 1 },
      }),
      {
        logger: createLogger('warn', (line) => lines.push(line)),
        metrics: new Metrics({ defaultMetrics: false }),
      },
    );
    const running = pipeline.run();
    try {
      await waitFor(() => lines.some((l) => l.includes('not enough records to start')), {
        timeoutMs: 60_000,
        message: () => `no warm-up warning; log: ${lines.join('\n')}`,
      });
      // The rest arrives while the three wait.
      await produceInSlices(kafka, topics.inputTopic, input.records.slice(3));
      await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
        timeoutMs: 120_000,
        message: () => `stalled: ${JSON.stringify(pipeline.status())}; log: ${lines.join('\n')}`,
      });
    } finally {
      await pipeline.stop();
      await running;
    }
    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(2_000);
  });

  it('a poison first record: one 100,000-feature record is dead-lettered, not made the input dimension', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('poison-first');
    await createTopic(topics.inputTopic, 1);
    const input = faultInput({ count: 1_500, partitions: 1, seed: 6 });
    const poison = {
      key: 'poison',
      value: JSON.stringify({ features: Array.from({ length: 100_000 }, (_, i) => i % 7) }),
      partition: 0,
    };
    const invalid = new Map([...input.invalid, ['poison', 'wrong_length']]);
    await produceInSlices(kafka, topics.inputTopic, [poison, ...input.records]);
    const lines: string[] = [];
    const pipeline = await createPipeline(
      config(topics, { cluster: { k: 5 }, model: { kind: 'mlp' } }),
      {
        logger: createLogger('info', (line) => lines.push(line)),
        metrics: new Metrics({ defaultMetrics: false }),
      },
    );
    await runUntilDrained(pipeline, kafka, topics);
    // The network was built for 8 features, not 100,000.
    expect(lines.find((l) => l.includes(' parameters='))).toMatch(/inputDim=8 /);
    const coverage = await checkCoverage(kafka, topics, invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.reasons).toEqual({ wrong_length: 1 });
    expect(lines.find((l) => l.includes('input dimension taken from the first batch'))).toMatch(
      /dim=8 /,
    );
  });

  it('an input record larger than the dead-letter topic accepts: its dead letter is cut to fit, with its headers', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('oversize');
    // The input topic allows 6 MB records; the dead-letter topic (created by streamclust) the
    // broker's 1 MB default.
    await createTopic(topics.inputTopic, 1, { 'max.message.bytes': String(6 * 1024 * 1024) });
    const input = faultInput({ count: 1_000, partitions: 1, seed: 8 });
    const huge = {
      key: 'huge',
      value: Buffer.alloc(5 * 1024 * 1024, 0x61),
      partition: 0,
      headers: { 'trace-id': 'abc-123' },
    };
    await kafka.produceRaw(topics.inputTopic, input.records.slice(0, 500));
    await kafka.produceRaw(topics.inputTopic, [huge]);
    await kafka.produceRaw(topics.inputTopic, input.records.slice(500));
    const pipeline = await createPipeline(config(topics, { cluster: { k: 5 } }), {
      logger: createLogger('silent'),
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await runUntilDrained(pipeline, kafka, topics);
    const coverage = await checkCoverage(kafka, topics, new Map([['huge', 'oversize']]));
    // Everything but the cut bytes is as it was.
    expect({ ...losses(coverage), wrongDeadLetters: [] }).toEqual(NOTHING_LOST);
    expect(coverage.wrongDeadLetters).toEqual([expect.stringMatching(/huge: bytes differ$/)]);
    expect(coverage.valid).toBe(1_000);
    const [letter] = await kafka.readAll(topics.deadLetterTopic);
    expect(letter!.headers).toMatchObject({
      'trace-id': 'abc-123',
      'streamclust.reason': 'oversize',
      'streamclust.truncated': 'true',
      'streamclust.original.bytes': String(5 * 1024 * 1024),
    });
    expect(letter!.value!.length).toBeLessThan(1024 * 1024);
    expect(letter!.value!.length).toBeGreaterThan(1000 * 1000);
  });

  it('an assignments topic with a small max.message.bytes: writes are split until they fit', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('small-assignments');
    await createTopic(topics.inputTopic, 2);
    // About 10 assignments fit in 2,000 bytes; a batch holds 256.
    await createTopic(topics.assignmentsTopic, 1, { 'max.message.bytes': '2000' });
    const input = faultInput({ count: 1_500, partitions: 2, seed: 9 });
    await produceInSlices(kafka, topics.inputTopic, input.records);
    const pipeline = await createPipeline(config(topics, { cluster: { k: 5 } }), {
      logger: createLogger('silent'),
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await runUntilDrained(pipeline, kafka, topics);
    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.assignments).toBe(1_500);
  });

  it('an assignments topic that refuses even one assignment: stops with the topic and the fix, nothing committed', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('tiny-assignments');
    await createTopic(topics.inputTopic, 1);
    await createTopic(topics.assignmentsTopic, 1, { 'max.message.bytes': '100' });
    const input = faultInput({ count: 1_200, partitions: 1, seed: 10 });
    await produceInSlices(kafka, topics.inputTopic, input.records);
    const pipeline = await createPipeline(
      config(topics, { cluster: { k: 5 }, http: { enabled: true, port: 0, liveView: false } }),
      { logger: createLogger('silent'), metrics: new Metrics({ defaultMetrics: false }) },
    );
    const started = Date.now();
    const running = pipeline.run();
    await expect(running).rejects.toThrow(
      new RegExp(
        `the topic ${topics.assignmentsTopic} refuses a message .* Fix: raise the topic's max.message.bytes`,
      ),
    );
    expect(describeRefusal(await running.catch((e: unknown) => e))).toMatch(/refuses a message/);
    // Bounded: no 10 s wait for a consumer handler that waits on records that never settle.
    expect(Date.now() - started).toBeLessThan(60_000);
    // /readyz (and /healthz, see http-auth.test.ts) carry the reason while the pipeline closes.
    expect(pipeline.readiness().reasons[0]).toMatch(/^stopping: the topic .* refuses a message/);
    expect(await kafka.committedOffsets(topics.groupId, topics.inputTopic)).toEqual(new Map());
  });

  it('brokers away at start: /readyz says so at once, and after kafka.startupTimeoutMs the process exits 69', async () => {
    const port = await freePort();
    const cli = startCli([
      'run',
      '--source',
      'kafka',
      '--brokers',
      `127.0.0.1:${port}`,
      '--topic',
      uniqueName('never-read'),
      '--port',
      '0',
      '--set',
      'kafka.startupTimeoutMs=6000',
      '--log-level',
      'info',
    ]);
    const url = await waitForHttpUrl(cli, 30_000);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain(`connecting to the Kafka brokers 127.0.0.1:${port}`);
    const { code } = await cli.exited;
    expect(code, cli.stderr().slice(-2000)).toBe(69);
    expect(cli.stderr()).toMatch(
      /stopped: could not reach the Kafka brokers .* within kafka\.startupTimeoutMs \(6000 ms.*Fix: check kafka\.brokers/,
    );
    expect(cli.stderr()).not.toMatch(/unexpected error/);
  });

  it('a misspelt input topic: said at once with the name it resembles, and on /readyz', async () => {
    const topic = uniqueName('clicks');
    await createTopic(topic, 1);
    const cli = startCli([
      ...kafkaRunArgs(kafkaBrokers().join(','), pipelineTopics('misspelt')),
      '--topic',
      `${topic}x`,
      '--log-level',
      'info',
    ]);
    try {
      const url = await waitForHttpUrl(cli, 30_000);
      // At start, not after kafka.missingTopicTimeoutMs (300 s by default).
      await waitFor(() => cli.stderr().includes('does not exist on the brokers'), {
        timeoutMs: 30_000,
        message: () => `no word of the missing topic; stderr: ${cli.stderr().slice(-2000)}`,
      });
      expect(cli.stderr()).toContain(
        `the input topic ${topic}x does not exist on the brokers ${kafkaBrokers().join(',')}; ` +
          'waiting for it up to kafka.missingTopicTimeoutMs (300000 ms). ' +
          `Fix: did you mean ${topic}? (kafka.inputTopic, --topic)`,
      );
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toContain(`the input topic ${topic}x does not exist`);
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  it('a checkpoint directory that stops being one mid-run: exit 69 with the fix, nothing committed unwritten', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('checkpoint-gone');
    await createTopic(topics.inputTopic, 2);
    const input = faultInput({ count: 30_000, partitions: 2, seed: 12 });
    await produceInSlices(kafka, topics.inputTopic, input.records);
    const dir = join(mkdtempSync(join(tmpdir(), 'streamclust-stall-')), 'checkpoints');
    const cli = startCli(
      kafkaRunArgs(kafkaBrokers().join(','), topics, [
        '--batch-size',
        '64',
        '--checkpoint-dir',
        dir,
        '--set',
        'checkpoint.everyBatches=5',
        '--set',
        'kafka.partitionsConsumedConcurrently=1',
        '--log-level',
        'warn',
      ]),
    );
    await waitFor(() => existsSync(join(dir, 'checkpoint.json')), {
      timeoutMs: 120_000,
      message: () => `no checkpoint written; stderr: ${cli.stderr().slice(-2000)}`,
    });
    // The directory is replaced by a file: every later checkpoint write fails for good.
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    const { code } = await cli.exited;
    expect(code, cli.stderr().slice(-2000)).toBe(69);
    expect(cli.stderr()).toMatch(
      /stopped: cannot write the checkpoint in .*the file system refused \((EEXIST|ENOTDIR) on .*\)\. Fix: /,
    );
    // Every committed record was written first: committed offsets never run ahead of outputs.
    const committed = await kafka.committedOffsets(topics.groupId, topics.inputTopic);
    const assigned = new Set(
      (await kafka.readAll(topics.assignmentsTopic)).map((r) => {
        const a = JSON.parse(r.value!.toString()) as { partition: number; offset: string };
        return `${a.partition}/${a.offset}`;
      }),
    );
    const produced = await kafka.readAll(topics.inputTopic);
    const committedUnwritten = produced.filter(
      (r) =>
        BigInt(r.offset) < BigInt(committed.get(r.partition) ?? '0') &&
        !assigned.has(`${r.partition}/${r.offset}`),
    );
    expect(committedUnwritten).toEqual([]);
    expect(sumOffsets(committed)).toBeLessThan(30_000);
  });

  it('partitions added to the input topic are read within kafka.metadataMaxAgeMs', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('grown');
    await createTopic(topics.inputTopic, 1);
    const input = faultInput({ count: 3_000, partitions: 1, seed: 13 });
    await produceInSlices(kafka, topics.inputTopic, input.records.slice(0, 1_500));
    const pipeline = await createPipeline(
      config(topics, {
        cluster: { k: 5 },
        kafka: { brokers: kafkaBrokers(), ...topics, metadataMaxAgeMs: 2_000 },
      }),
      { logger: createLogger('silent'), metrics: new Metrics({ defaultMetrics: false }) },
    );
    const running = pipeline.run();
    try {
      await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
        timeoutMs: 120_000,
        message: () => `first part not committed: ${JSON.stringify(pipeline.status())}`,
      });
      const admin = createKafka().admin();
      await admin.connect();
      await admin
        .createPartitions({ topicPartitions: [{ topic: topics.inputTopic, count: 3 }] })
        .finally(() => admin.disconnect());
      const later = input.records.slice(1_500).map((r, i) => ({ ...r, partition: i % 3 }));
      await produceInSlices(kafka, topics.inputTopic, later);
      const addedAt = Date.now();
      await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
        timeoutMs: 60_000,
        message: () => `new partitions not read: ${JSON.stringify(pipeline.status())}`,
      });
      console.log(
        `[stalls] records in added partitions committed after ${Date.now() - addedAt} ms`,
      );
    } finally {
      await pipeline.stop();
      await running;
    }
    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(3_000);
  });

  it('an input topic deleted mid-stream: /readyz says so, and after kafka.missingTopicTimeoutMs the pipeline stops', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('deleted');
    await createTopic(topics.inputTopic, 1);
    const input = faultInput({ count: 1_500, partitions: 1, seed: 14 });
    await produceInSlices(kafka, topics.inputTopic, input.records);
    const pipeline = await createPipeline(
      config(topics, {
        cluster: { k: 5 },
        kafka: {
          brokers: kafkaBrokers(),
          ...topics,
          lagIntervalMs: 500,
          missingTopicTimeoutMs: 8_000,
        },
        http: { enabled: true, port: 0, liveView: false },
      }),
      { logger: createLogger('silent'), metrics: new Metrics({ defaultMetrics: false }) },
    );
    const running = pipeline.run();
    const outcome = running.then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
      timeoutMs: 120_000,
      message: () => `not committed: ${JSON.stringify(pipeline.status())}`,
    });
    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    const admin = createKafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topics.inputTopic] }).finally(() => admin.disconnect());
    const deletedAt = Date.now();
    const reasons = await waitFor(
      async () => {
        const body = (await (await fetch(`${pipeline.httpUrl!}/readyz`)).json()) as {
          reasons: string[];
        };
        return body.reasons.find((r) => r.includes('does not exist'));
      },
      { timeoutMs: 30_000, message: 'readyz never said the input topic is gone' },
    );
    expect(reasons).toContain(`the input topic ${topics.inputTopic} does not exist`);
    const error = await outcome;
    expect(describeRefusal(error)).toMatch(
      new RegExp(
        `the input topic ${topics.inputTopic} has not existed for \\d+ s .*Fix: recreate it`,
      ),
    );
    const stoppedAfter = Date.now() - deletedAt;
    console.log(`[stalls] deleted input topic: stopped ${stoppedAfter} ms after the deletion`);
    expect(stoppedAfter).toBeLessThan(60_000);
  });
});

/** A TCP port nothing listens on (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
