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

describeWithKafka('exactly-once delivery (kafka.delivery: exactly-once)', () => {
  it('after a SIGKILL mid-stream and a restart, read_committed readers see every output exactly once', async () => {
    const topics = pipelineTopics('eos');
    const { inputTopic: input, groupId, assignmentsTopic, deadLetterTopic } = topics;
    const kafka = new KafkaHelpers(kafkaBrokers());
    await createTopic(input, 3);
    const { records, malformedKeys } = mixtureRecords({
      count: 9_000,
      clusters: 5,
      dim: 8,
      seed: 11,
      malformedEvery: 4000,
    });
    records.forEach((r, i) => (r.partition = i % 3));
    await produceInSlices(kafka, input, records, 5000);
    const ends = await endOffsets(input);

    const args = kafkaRunArgs(kafkaBrokers().join(','), topics, [
      '--batch-size',
      '64',
      '--log-level',
      'warn',
      '--set',
      'kafka.partitionsConsumedConcurrently=1',
      '--set',
      'kafka.delivery=exactly-once',
      // The killed member keeps its partitions until its session expires: keep that short.
      '--set',
      'kafka.sessionTimeoutMs=10000',
      // A stable transactional id: the restarted instance fences the killed one and aborts its
      // open transaction, instead of leaving readers blocked until the transaction times out.
      '--set',
      `kafka.transactionalId=${groupId}-tx`,
    ]);
    const first = startCli(args);
    await waitFor(async () => sumOffsets(await committedOffsets(groupId, input)) >= 3000, {
      timeoutMs: 120_000,
      message: () => `nothing committed; stderr: ${first.stderr().slice(-2000)}`,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(sumOffsets(await committedOffsets(groupId, input))).toBeLessThan(sumOffsets(ends));

    const second = startCli(args);
    await waitForEndCommitted(kafka, groupId, input, {
      timeoutMs: 240_000,
      message: () => `second run did not finish; stderr: ${second.stderr().slice(-2000)}`,
    });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const produced = await readAll(input);
    const valid = produced.filter((r) => !malformedKeys.has(r.key ?? ''));
    const seen = new Map<string, number>();
    for (const r of await readAll(assignmentsTopic)) {
      const a = JSON.parse(r.value!.toString()) as { partition: number; offset: string };
      const key = `${a.partition}/${a.offset}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect(valid.filter((r) => seen.get(`${r.partition}/${r.offset}`) !== 1)).toEqual([]);
    expect(seen.size).toBe(valid.length);
    const deadLetters = await readAll(deadLetterTopic);
    expect(deadLetters.map((d) => d.key).sort()).toEqual([...malformedKeys.keys()].sort());
  });
});
