import { expect, it } from 'vitest';

import { readCheckpoint } from '../../src/state/checkpoint.js';
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
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describeWithKafka('state and offsets agree after a crash', () => {
  it('resumes model and store from the checkpoint, replays from its offsets: the state holds each record once', async () => {
    const topics = pipelineTopics('resume');
    const { inputTopic: input, groupId, assignmentsTopic } = topics;
    const dir = join(mkdtempSync(join(tmpdir(), 'streamclust-resume-')), 'checkpoints');
    const kafka = new KafkaHelpers(kafkaBrokers());
    await createTopic(input, 3);
    const total = 8_000;
    const { records } = mixtureRecords({ count: total, clusters: 5, dim: 8, seed: 21 });
    records.forEach((r, i) => (r.partition = i % 3));
    await produceInSlices(kafka, input, records, 4000);
    const ends = await endOffsets(input);

    const args = kafkaRunArgs(kafkaBrokers().join(','), topics, [
      '--batch-size',
      '64',
      '--checkpoint-dir',
      dir,
      '--set',
      'kafka.partitionsConsumedConcurrently=1',
      '--set',
      'checkpoint.everyBatches=20',
      // The killed member keeps its partitions until its session expires: keep that short.
      '--set',
      'kafka.sessionTimeoutMs=10000',
    ]);
    const first = startCli([...args, '--set', 'checkpoint.onShutdown=false']);
    await waitFor(async () => sumOffsets(await committedOffsets(groupId, input)) >= 3000, {
      timeoutMs: 180_000,
      message: () => `first run did not get far enough; stderr: ${first.stderr().slice(-2000)}`,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const atCrash = await readCheckpoint(dir);
    const committedAtCrash = sumOffsets(await committedOffsets(groupId, input));
    const checkpointed = atCrash.offsets.reduce((n, o) => n + Number(o.offset), 0);
    expect(atCrash.store.state.records).toBe(checkpointed);
    // The group's commit and the checkpoint advance independently, so at the crash either may be
    // ahead: records between them are in the outputs but not the state (commit ahead), or in the
    // state but not committed (checkpoint ahead, when the kill falls between a checkpoint and the
    // commit of a long fetch). The resume seeks to the checkpoint's offsets, so either way the
    // final state must hold every record exactly once, which is what is checked below.
    console.log(
      `[resume-state] at the crash: ${checkpointed} records checkpointed, ${committedAtCrash} committed`,
    );
    expect(checkpointed).toBeGreaterThan(0);
    expect(checkpointed).toBeLessThan(total);

    const second = startCli([...args, '--resume']);
    await waitForEndCommitted(kafka, groupId, input, {
      timeoutMs: 240_000,
      message: () => `second run did not finish; stderr: ${second.stderr().slice(-2000)}`,
    });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(second.stderr()).toMatch(/resuming from checkpoint/);

    const final = await readCheckpoint(dir);
    expect(final.offsets.map((o) => [o.partition, o.offset])).toEqual(
      [...ends].sort(([a], [b]) => a - b),
    );
    // Every record is in the store exactly once: not lost between checkpoint and crash, not twice.
    expect(final.store.state.records).toBe(total);
    expect(final.model.version).toBeGreaterThan(atCrash.model.version);

    const assigned = new Set(
      (await readAll(assignmentsTopic)).map((r) => {
        const a = JSON.parse(r.value!.toString()) as { partition: number; offset: string };
        return `${a.partition}/${a.offset}`;
      }),
    );
    expect(assigned.size).toBe(total);
  });
});
