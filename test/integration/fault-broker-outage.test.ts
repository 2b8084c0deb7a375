import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, expect, it } from 'vitest';

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
import { KafkaHelpers, describeWithKafka, waitFor } from '../helpers/kafka.js';

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
});
