import { expect, it } from 'vitest';

import { startCli } from '../helpers/cli-process.js';
import {
  KafkaHelpers,
  committedOffsets,
  createTopic,
  describeWithKafka,
  endOffsets,
  kafkaBrokers,
  readAll,
  waitFor,
} from '../helpers/kafka.js';
import {
  kafkaRunArgs,
  pipelineTopics,
  produceInSlices,
  sumOffsets,
  waitForEndCommitted,
} from '../helpers/fault-records.js';
import { mixtureRecords } from '../helpers/mixture-records.js';

/** Valid records in the input topic (mixtureRecords adds the malformed ones beside them). */
const VALID = 20_000;

describeWithKafka('stopping the pipeline process mid-stream', () => {
  it('SIGTERM drains and exits 0; after a restart every valid record has an assignment', async () => {
    const topics = pipelineTopics('sigterm');
    const { inputTopic: input, groupId, assignmentsTopic, deadLetterTopic } = topics;
    const kafka = new KafkaHelpers(kafkaBrokers());
    await createTopic(input, 3);
    const { records, malformedKeys } = mixtureRecords({
      count: VALID,
      clusters: 5,
      dim: 8,
      seed: 7,
      malformedEvery: 5000,
    });
    records.forEach((r, i) => (r.partition = i % 3));
    await produceInSlices(kafka, input, records, 5000);
    const ends = await endOffsets(input);
    const total = sumOffsets(ends);

    const args = kafkaRunArgs(kafkaBrokers().join(','), topics, [
      // Small batches, one partition at a time: slow enough to be stopped mid-stream.
      '--batch-size',
      '64',
      '--set',
      'kafka.partitionsConsumedConcurrently=1',
      '--log-level',
      'warn',
    ]);

    const first = startCli(args);
    await waitFor(async () => sumOffsets(await committedOffsets(groupId, input)) >= 2000, {
      timeoutMs: 120_000,
      message: () => `first run committed nothing; stderr: ${first.stderr().slice(-2000)}`,
    });
    first.child.kill('SIGTERM');
    const firstExit = await first.exited;
    expect(firstExit.code, first.stderr().slice(-2000)).toBe(0);
    const afterFirst = sumOffsets(await committedOffsets(groupId, input));
    expect(afterFirst).toBeLessThan(total);

    const second = startCli(args);
    await waitForEndCommitted(kafka, groupId, input, {
      timeoutMs: 240_000,
      message: () =>
        `second run did not reach the end offsets; stderr: ${second.stderr().slice(-2000)}`,
    });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const produced = await readAll(input);
    const assigned = new Set(
      (await readAll(assignmentsTopic)).map((r) => {
        const a = JSON.parse(r.value!.toString()) as { partition: number; offset: string };
        return `${a.partition}/${a.offset}`;
      }),
    );
    const valid = produced.filter((r) => !malformedKeys.has(r.key ?? ''));
    expect(valid.length).toBe(VALID);
    expect(valid.filter((r) => !assigned.has(`${r.partition}/${r.offset}`))).toEqual([]);
    const deadLettered = await readAll(deadLetterTopic);
    expect(new Set(deadLettered.map((d) => d.key))).toEqual(new Set(malformedKeys.keys()));
  });
});
