import { expect, it } from 'vitest';

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
} from '../helpers/fault-records.js';
import { KafkaHelpers, describeWithKafka, kafkaBrokers, waitFor } from '../helpers/kafka.js';

describeWithKafka('fault: the pipeline process is killed with SIGKILL mid-stream', () => {
  it('after a restart every valid record has an assignment and every invalid one a dead letter', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('fault-kill');
    await kafka.createTopic(topics.inputTopic, 3);
    const bad = badInputs({ dim: 8, maxRecordBytes: 2_048 });
    const input = faultInput({ count: 20_000, partitions: 3, seed: 71, badEvery: 500, bad });
    await produceInSlices(kafka, topics.inputTopic, input.records);
    const total = sumOffsets(await kafka.endOffsets(topics.inputTopic));

    const args = kafkaRunArgs(kafka.brokers.join(','), topics, [
      // Small batches, one partition at a time: slow enough to be killed mid-stream.
      '--batch-size',
      '64',
      '--set',
      'kafka.partitionsConsumedConcurrently=1',
      '--set',
      'decode.maxRecordBytes=2048',
      // The killed member keeps its partitions until its session expires: keep that short.
      '--set',
      'kafka.sessionTimeoutMs=10000',
      '--log-level',
      'warn',
    ]);

    const first = startCli(args);
    await waitFor(
      async () =>
        sumOffsets(await kafka.committedOffsets(topics.groupId, topics.inputTopic)) >= 2_000,
      {
        timeoutMs: 120_000,
        intervalMs: 200,
        message: () => `the first run committed nothing; stderr: ${first.stderr().slice(-2000)}`,
      },
    );
    // No drain, no commit, no closing of the producer: whatever was in flight is simply gone.
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const afterKill = sumOffsets(await kafka.committedOffsets(topics.groupId, topics.inputTopic));
    expect(afterKill, 'the kill came too late to be mid-stream').toBeLessThan(total);

    const second = startCli(args);
    try {
      await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
        timeoutMs: 180_000,
        message: () =>
          `the restarted run did not reach the end offsets; stderr: ${second.stderr().slice(-2000)}`,
      });
    } finally {
      second.child.kill('SIGTERM');
    }
    expect((await second.exited).code, second.stderr().slice(-2000)).toBe(0);

    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(input.valid);
    expect(coverage.invalid).toBe(input.invalid.size);
  });
});
