import { writeFile } from 'node:fs/promises';

import { expect, it } from 'vitest';

import { startCli, type CliProcess } from '../helpers/cli-process.js';
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

/** Records consumed so far, from the process's last status line (0 before the first). */
function consumed(cli: CliProcess): number {
  const lines = [...cli.stderr().matchAll(/\[streamclust\] ([\d,]+) records/g)];
  const last = lines.at(-1)?.[1];
  return last === undefined ? 0 : Number(last.replaceAll(',', ''));
}

describeWithKafka(
  'fault: a second instance joins, then leaves, the consumer group mid-stream',
  () => {
    it('both rebalances hand the partitions over without losing a record', async () => {
      const kafka = new KafkaHelpers(kafkaBrokers());
      const topics = pipelineTopics('fault-rebalance');
      await kafka.createTopic(topics.inputTopic, 3);
      const bad = badInputs({ dim: 8, maxRecordBytes: 2_048 });
      const input = faultInput({ count: 40_000, partitions: 3, seed: 79, badEvery: 1_000, bad });
      // 5,000 records are there at start; the next 25,000 arrive only once the second instance
      // is in the group, 700 every 500 ms (about 18 s), and the last 10,000 only once it has
      // left, so that both hand-overs fall mid-stream however fast the instances start and
      // read. (With all 40,000 produced first, a faster first instance once drained them before
      // the second had joined; with the 25,000 produced from the start, a slower machine once
      // saw the first instance drain them while the second was still starting, and the second
      // got 880 records in all.)
      const head = 5_000;
      const tail = input.records.length - 10_000;
      await produceInSlices(kafka, topics.inputTopic, input.records.slice(0, head));
      // A fresh topic: one offset per record.
      const total = input.records.length;
      const committed = async (): Promise<number> =>
        sumOffsets(await kafka.committedOffsets(topics.groupId, topics.inputTopic));

      const args = kafkaRunArgs(kafka.brokers.join(','), topics, [
        // Small batches, one partition at a time. The status line every 500 ms says how much
        // each instance consumed.
        '--batch-size',
        '64',
        '--set',
        'kafka.partitionsConsumedConcurrently=1',
        '--set',
        'decode.maxRecordBytes=2048',
        '--set',
        'log.statusIntervalMs=500',
        '--log-level',
        'info',
      ]);
      const first = startCli(args);
      let second: CliProcess | undefined;
      const logs = (): string =>
        `first: ${first.stderr().slice(-1500)}\nsecond: ${second?.stderr().slice(-1500) ?? ''}`;
      try {
        await waitFor(async () => (await committed()) >= 2_000, {
          timeoutMs: 120_000,
          intervalMs: 200,
          message: () => `the first instance committed nothing; ${logs()}`,
        });

        second = startCli(args);
        const joined = second;
        await waitFor(
          async () => {
            const group = await kafka.groupMembers(topics.groupId);
            return group.state === 'Stable' && group.members === 2;
          },
          {
            timeoutMs: 120_000,
            intervalMs: 200,
            message: () => `the second instance never joined the group; ${logs()}`,
          },
        );
        const producing = produceInSlices(
          kafka,
          topics.inputTopic,
          input.records.slice(head, tail),
          700,
          500,
        );
        producing.catch(() => undefined);
        await waitFor(() => consumed(joined) >= 1_000, {
          timeoutMs: 120_000,
          intervalMs: 200,
          message: () => `the second instance never received records; ${logs()}`,
        });
        // The group keeps committing after the join. (Not "the first instance consumes more":
        // the partitions it keeps may already be drained, which is no failure.)
        const committedAtJoin = await committed();
        await waitFor(async () => (await committed()) > committedAtJoin, {
          timeoutMs: 60_000,
          intervalMs: 200,
          message: () => `the group stopped committing after the second instance joined; ${logs()}`,
        });

        joined.child.kill('SIGTERM');
        expect((await joined.exited).code, logs()).toBe(0);

        // The rest of the stream, on every partition: the first instance reads the second's
        // partitions from where the second committed them.
        await producing;
        await produceInSlices(kafka, topics.inputTopic, input.records.slice(tail), 2_000);
        expect(sumOffsets(await kafka.endOffsets(topics.inputTopic))).toBe(total);
        await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
          timeoutMs: 180_000,
          message: () => `the first instance did not finish the stream alone; ${logs()}`,
        });
      } finally {
        first.child.kill('SIGTERM');
        second?.child.kill('SIGTERM');
        // Both whole logs, for when the tails in a failure message are not enough.
        await writeFile(
          'test-results/fault-rebalance.log',
          `first:\n${first.stderr()}\n\nsecond:\n${second?.stderr() ?? ''}\n`,
        ).catch(() => {});
      }
      expect((await first.exited).code, logs()).toBe(0);

      const coverage = await checkCoverage(kafka, topics, input.invalid);
      expect(losses(coverage)).toEqual(NOTHING_LOST);
      expect(coverage.valid).toBe(input.valid);
      expect(coverage.invalid).toBe(input.invalid.size);
    });
  },
);
