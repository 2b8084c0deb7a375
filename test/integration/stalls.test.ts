// Faults that used to stall the pipeline for good without a word (issue #13): each scenario ends
// healed within a bounded time, with no record lost.
import { expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { describeRefusal } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import {
  KafkaHelpers,
  createTopic,
  describeWithKafka,
  kafkaBrokers,
  waitFor,
} from '../helpers/kafka.js';
import {
  NOTHING_LOST,
  checkCoverage,
  faultInput,
  losses,
  pipelineTopics,
  produceInSlices,
  runUntilDrained,
  waitForEndCommitted,
} from '../helpers/fault-records.js';
import { PLUMBING_TRAINING } from '../helpers/plumbing.js';

function config(topics: ReturnType<typeof pipelineTopics>, extra: Record<string, unknown> = {}) {
  return validateConfig({
    source: 'kafka',
    kafka: { brokers: kafkaBrokers(), ...topics },
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
    const pipeline = await createPipeline(config(topics, { cluster: { k: 5 } }), {
      logger: createLogger('info', (line) => lines.push(line)),
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await runUntilDrained(pipeline, kafka, topics);
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
    let health: number | undefined;
    const watcher = setInterval(() => {
      const url = pipeline.httpUrl;
      if (url !== undefined && health !== 503)
        void fetch(`${url}/healthz`).then(
          (r) => (health = r.status),
          () => undefined,
        );
    }, 50);
    await expect(running).rejects.toThrow(
      new RegExp(
        `the topic ${topics.assignmentsTopic} refuses a message .* Fix: raise the topic's max.message.bytes`,
      ),
    );
    clearInterval(watcher);
    expect(describeRefusal(await running.catch((e: unknown) => e))).toMatch(/refuses a message/);
    // Bounded: no 10 s wait for a consumer handler that waits on records that never settle.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(health).toBe(503);
    expect(await kafka.committedOffsets(topics.groupId, topics.inputTopic)).toEqual(new Map());
  });
});
