import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { createKafkaSource } from '../../src/sources/kafka-source.js';
import type { RecordChunk } from '../../src/sources/source.js';
import { startCli } from '../helpers/cli-process.js';
import {
  NOTHING_LOST,
  badInputs,
  checkCoverage,
  faultInput,
  kafkaRunArgs,
  losses,
  pipelineTopics,
  produceInSlices,
  sumOffsets,
  waitForEndCommitted,
  waitForHttpUrl,
} from '../helpers/fault-records.js';
import { KafkaBroker } from '../helpers/kafka-broker.js';
import { KafkaHelpers, describeWithKafka, uniqueName, waitFor } from '../helpers/kafka.js';

const OUTAGE_MS = 10_000;

const readyStatus = async (url: string): Promise<number> =>
  (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status;

// describeWithKafka: the shared broker stands for "this machine can run Kafka"; the test runs
// its own, since stopping the shared one would break every other test.
describeWithKafka('fault: the broker is down for 10 s mid-stream', () => {
  let broker: KafkaBroker;
  beforeAll(async () => {
    broker = await KafkaBroker.start();
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  it('reports not ready while the broker is down, resumes after its restart and loses nothing', async () => {
    const kafka = new KafkaHelpers(broker.brokers);
    const topics = pipelineTopics('fault-outage');
    await kafka.createTopic(topics.inputTopic, 3);
    const bad = badInputs({ dim: 8, maxRecordBytes: 2_048 });
    const input = faultInput({ count: 20_000, partitions: 3, seed: 73, badEvery: 500, bad });
    await produceInSlices(kafka, topics.inputTopic, input.records);
    const total = sumOffsets(await kafka.endOffsets(topics.inputTopic));

    const cli = startCli(
      kafkaRunArgs(broker.brokers, topics, [
        // Small batches, one partition at a time: the outage falls mid-stream.
        '--batch-size',
        '64',
        '--set',
        'kafka.partitionsConsumedConcurrently=1',
        '--set',
        'decode.maxRecordBytes=2048',
        // A send hung across the restart is abandoned and retried on a fresh producer after 10 s.
        '--set',
        'kafka.writeTimeoutMs=10000',
        '--log-level',
        // FAULT_LOG_LEVEL=debug (with KAFKAJS_LOG_LEVEL=debug) when the saved log must say more.
        process.env['FAULT_LOG_LEVEL'] ?? 'info',
      ]),
    );
    const stderr = (): string => cli.stderr().slice(-3000);
    const duringOutage: number[] = [];
    try {
      const url = await waitForHttpUrl(cli);
      await waitFor(async () => (await readyStatus(url)) === 200, {
        timeoutMs: 120_000,
        message: () => `never ready; stderr: ${stderr()}`,
      });
      await waitFor(
        async () =>
          sumOffsets(await kafka.committedOffsets(topics.groupId, topics.inputTopic)) >= 2_000,
        {
          timeoutMs: 120_000,
          intervalMs: 200,
          message: () => `nothing committed; stderr: ${stderr()}`,
        },
      );

      const down = Date.now();
      await broker.stop();
      // The outage itself: the broker stays down for the full 10 s whatever the pipeline does;
      // meanwhile /readyz is sampled, since a load balancer would route by it.
      while (Date.now() < down + OUTAGE_MS) {
        duringOutage.push(await readyStatus(url).catch(() => -1));
        await sleep(250);
      }
      expect(cli.child.exitCode, `the pipeline gave up during the outage: ${stderr()}`).toBeNull();
      await broker.restart();

      const ends = await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
        timeoutMs: 90_000,
        message: () => `the stream did not complete after the restart; stderr: ${stderr()}`,
      });
      expect(sumOffsets(ends)).toBe(total);
      await waitFor(async () => (await readyStatus(url)) === 200, {
        timeoutMs: 60_000,
        message: () => `not ready again after the broker came back; stderr: ${stderr()}`,
      });
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
      // The whole log, for when the tail in a failure message is not enough.
      await writeFile('test-results/fault-broker-outage.stderr.log', cli.stderr()).catch(() => {});
    }
    expect((await cli.exited).code, stderr()).toBe(0);

    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(input.valid);
    expect(coverage.invalid).toBe(input.invalid.size);
    // Soft: a readiness failure must not hide whether records were lost (checked above).
    expect.soft(duringOutage, 'the /readyz answers while the broker was down').toContain(503);
  });

  // kafkajs' commitOffsets() resolves without sending anything while its consumer is not
  // running: after a crash (the broker away), from its restart until it has joined the group
  // again. Records settled in that window are read again after the restart; their second
  // commit must still be sent, or the group's offset stays behind them for good.
  it('commits records read again after the consumer restarted, when their first commit was not sent', async () => {
    const kafka = new KafkaHelpers(broker.brokers);
    const topic = uniqueName('outage-commit');
    const groupId = uniqueName('outage-commit-group');
    await kafka.createTopic(topic, 1);
    await kafka.produceRaw(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ value: `{"n":${i}}`, partition: 0 })),
    );
    const lines: string[] = [];
    const source = createKafkaSource(
      validateConfig({ kafka: { brokers: kafka.brokers, inputTopic: topic, groupId } }).kafka,
      createLogger('debug', (line) => lines.push(line)),
    );
    // First the chunks are held (as a pipeline does while the sinks are away), then settled as
    // they come.
    const held: RecordChunk[] = [];
    let holding = true;
    let read = 0;
    source.chunks.subscribe((chunk) => {
      read += chunk.records.length;
      if (holding) held.push(chunk);
      else chunk.records.forEach(() => chunk.settle());
    });
    const log = (): string => lines.slice(-20).join('\n');
    try {
      await waitFor(() => read >= 20, {
        timeoutMs: 30_000,
        message: () => `the source read ${read} of 20 records; ${log()}`,
      });
      await broker.stop();
      const crashed = await waitFor(
        // The line after the crash's (0, not found, would end the wait).
        () => lines.findIndex((l) => l.includes('kafka consumer crashed')) + 1 || undefined,
        {
          timeoutMs: 60_000,
          message: () => `the consumer did not crash with the broker away; ${log()}`,
        },
      );
      // kafkajs restarts it: settled now, the records' commit cannot be sent. (Right after the
      // crash, before the restart starts, a commit is refused with an error instead.)
      await waitFor(() => lines.slice(crashed).some((l) => l.includes('kafkajs: Starting')), {
        timeoutMs: 30_000,
        message: () => `kafkajs did not restart the consumer; ${log()}`,
      });
      holding = false;
      for (const chunk of held) chunk.records.forEach(() => chunk.settle());
      await broker.restart();

      // The restarted consumer reads the 20 records again (nothing was committed) and commits
      // them once they settle.
      await waitFor(async () => (await kafka.committedOffsets(groupId, topic)).get(0) === '20', {
        timeoutMs: 90_000,
        intervalMs: 500,
        message: () =>
          `the records read again were never committed (${read} read in all); ${log()}`,
      });
      expect(read).toBeGreaterThanOrEqual(40);
      expect(lines.filter((l) => l.includes('offset commit not sent')).length, log()).toBe(1);
    } finally {
      await source.stop().catch(() => {});
      await source.close().catch(() => {});
    }
  });
});
