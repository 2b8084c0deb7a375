import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';

import type { EvaluationReport } from '../../src/eval/evaluation-report.js';
import { runCli } from '../helpers/cli-process.js';
import {
  createKafka,
  createTopic,
  describeWithKafka,
  kafkaBrokers,
  produceJson,
  readAll,
  uniqueName,
} from '../helpers/kafka.js';

const DIGITS = 'test/fixtures/datasets/digits.csv';

function readReport(dir: string): EvaluationReport {
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as EvaluationReport;
}

/** Every consumer group whose id starts with the prefix, and what each committed. */
async function groupsWithPrefix(prefix: string, topic: string) {
  const admin = createKafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const ids = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    const committed = await Promise.all(
      ids.map(async (groupId) => {
        const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return (result?.partitions ?? []).filter((p) => p.offset !== '-1');
      }),
    );
    return { ids, committed: committed.flat(), topics: await admin.listTopics() };
  } finally {
    await admin.disconnect();
  }
}

describeWithKafka('replay against a real Kafka broker', () => {
  const env = (): Record<string, string> => ({ KAFKA_BROKERS: kafkaBrokers().join(',') });

  it('replay of a topic that does not exist stops at once naming it, exit 78', async () => {
    const topic = uniqueName('digits');
    await createTopic(topic, 1);
    const { code, stderr } = await runCli(['replay', '--topic', `${topic}x`], env());
    expect(code).toBe(78);
    expect(stderr).toContain(
      `--topic: "${topic}x" is invalid: no such topic on the brokers ${kafkaBrokers().join(',')}. Fix: did you mean ${topic}?`,
    );
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('produce creates a missing topic as run creates its topics (kafka.topicPartitions)', async () => {
    const topic = uniqueName('iris');
    const produced = await runCli(
      ['produce', '--file', 'test/fixtures/datasets/iris.csv', '--topic', topic],
      env(),
    );
    expect(produced.code).toBe(0);
    const admin = createKafka().admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(topics[0]?.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
    const records = await readAll(topic);
    expect(records).toHaveLength(150);
    expect(JSON.parse(records.find((r) => r.key === '0')!.value!.toString())).toEqual({
      features: [5.1, 3.5, 1.4, 0.2],
      label: 0,
    });
  });

  it('produce ends saying how many records run will dead-letter and why; exit 65 when all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-produce-'));
    // A text column makes every row of a CSV invalid for run: named, with the column list.
    const csv = join(dir, 'hosts.csv');
    writeFileSync(csv, 'cpu,mem,host,label\n0.5,1.5,host0,0\n0.7,1.1,host1,1\n0.2,1.9,host2,0\n');
    const texts = await runCli(['produce', '--file', csv, '--topic', uniqueName('hosts')], env());
    expect(texts.code, texts.stderr).toBe(65);
    expect(texts.stdout).toMatch(/^produced 3 records to /);
    expect(texts.stdout).toContain(
      '3 of them (100.0 %) will be dead-lettered by run, as decoded with these settings:\n' +
        '  wrong_type: 3, e.g. line 2: features[2] is the string "host0", not a number\n' +
        '  features[i] is the column: 0 cpu, 1 mem, 2 host',
    );
    expect(texts.stderr).toContain('streamclust produce: every record was invalid (3)');

    // One bad line of three in a JSONL file: produced, reported, exit 0.
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(jsonl, '{"features":[1,2]}\n{"features":[1,\n{"features":[3,4]}\n');
    const topic = uniqueName('events');
    const oneBad = await runCli(['produce', '--file', jsonl, '--topic', topic], env());
    expect(oneBad.code, oneBad.stderr).toBe(0);
    expect(oneBad.stdout).toMatch(
      new RegExp(
        `^produced 3 records to ${topic}; 1 of them \\(33\\.3 %\\) will be dead-lettered by run, as decoded with these settings:\n` +
          '  malformed_json: 1, e.g. line 2: ',
      ),
    );
    expect(await readAll(topic)).toHaveLength(3);
  });

  it('produces digits, replays them with --train for 4 passes without committing or writing, training all along', async () => {
    const topic = uniqueName('digits');
    await createTopic(topic, 3);
    const produced = await runCli(['produce', '--file', DIGITS, '--topic', topic], env());
    expect(produced.stderr).not.toMatch(/error/i);
    expect(produced.code).toBe(0);
    const records = await readAll(topic);
    expect(records).toHaveLength(1797);
    // Keyed by data row number; a CSV row becomes {"features": [...64], "label": n}.
    const csv = readFileSync(DIGITS, 'utf8').trim().split('\n').slice(1);
    const row100 = records.find((r) => r.key === '100');
    const cells = (csv[100] as string).split(',').map(Number);
    expect(JSON.parse(row100!.value!.toString())).toEqual({
      features: cells.slice(0, 64),
      label: cells[64],
    });

    const prefix = uniqueName('replay-group');
    const live = {
      assignments: uniqueName('assignments'),
      deadLetters: uniqueName('dead-letter'),
      events: uniqueName('events'),
    };
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-replay-'));
    const replay = await runCli(
      [
        'replay',
        '--topic',
        topic,
        '--train',
        '--passes',
        '4',
        '--report',
        dir,
        '--tsne-points',
        '60',
        '--group-prefix',
        prefix,
        // Digits' pixel counts run 0..16 with some constant columns: standardise them.
        '--set',
        'decode.standardize=true',
        '--set',
        `kafka.assignmentsTopic=${live.assignments}`,
        '--set',
        `kafka.deadLetterTopic=${live.deadLetters}`,
        '--set',
        `kafka.eventsTopic=${live.events}`,
      ],
      env(),
    );
    expect(replay.stderr).not.toMatch(/unexpected error/);
    expect(replay.code).toBe(0);
    expect(replay.stderr).toContain('k = 10 (the number of distinct "label" values');

    const report = readReport(dir);
    expect(report.command).toBe('replay');
    expect(report.data.recordsPerPass).toBe(1797);
    expect(report.data.partitions?.map((p) => Number(p.end) - Number(p.start))).toEqual(
      [0, 1, 2].map((p) => records.filter((r) => r.partition === p).length),
    );
    expect(report.passes.map((p) => p.pass)).toEqual([1, 2, 3, 4]);
    for (const pass of report.passes) {
      expect(pass.metrics.records).toBe(1797);
      expect(pass.metrics.labelled).toBe(1797);
      expect(pass.metrics.values.nmi).toBeTypeOf('number');
      expect(pass.metrics.values.accuracy).toBeTypeOf('number');
    }
    // The network pretrains on the warm-up, so pass 1 is already good (about 0.82); the later
    // passes keep training one model: it moves on in every pass, and the clusters stay above
    // MiniBatchKMeans on raw digits (NMI 0.72 in `npm run bench -- eval`) without sliding back.
    const nmi = report.passes.map((p) => p.metrics.values.nmi as number);
    expect(nmi[3]).toBeGreaterThan(0.75);
    expect(nmi[3]).toBeGreaterThan((nmi[0] as number) - 0.03);
    const versionAt = (end: number) =>
      Math.max(...report.windows.filter((w) => w.end <= end).map((w) => w.modelVersion));
    const passEnds = report.passes.map((p) => p.end);
    for (let i = 1; i < passEnds.length; i++)
      expect(versionAt(passEnds[i]!)).toBeGreaterThan(versionAt(passEnds[i - 1]!));
    expect(report.windows.length).toBeGreaterThanOrEqual(16);
    expect(report.embeddings?.tsne?.points).toHaveLength(60);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<svg');

    // Never commits, never writes to live topics: one scan and four passes, each its own group.
    const groups = await groupsWithPrefix(prefix, topic);
    expect(groups.ids).toHaveLength(5);
    expect(groups.committed).toEqual([]);
    for (const name of Object.values(live)) expect(groups.topics).not.toContain(name);
  });

  it('replays a time range and an offset range exactly', async () => {
    const topic = uniqueName('ranges');
    await createTopic(topic, 1);
    const record = (i: number) => ({
      key: String(i),
      value: {
        features: [i % 2 === 0 ? -5 + (i % 7) / 10 : 5 - (i % 5) / 10, (i % 3) / 10],
        label: i % 2,
      },
    });
    await produceJson(
      topic,
      Array.from({ length: 300 }, (_, i) => record(i)),
    );
    await sleep(50);
    const cut = new Date().toISOString();
    await sleep(50);
    await produceJson(
      topic,
      Array.from({ length: 200 }, (_, i) => record(300 + i)),
    );

    const byTime = mkdtempSync(join(tmpdir(), 'streamclust-replay-'));
    const timeRun = await runCli(
      ['replay', '--topic', topic, '--from', cut, '--report', byTime, '--tsne-points', '0'],
      env(),
    );
    expect(timeRun.code).toBe(0);
    const timeReport = readReport(byTime);
    expect(timeReport.data.partitions).toEqual([{ partition: 0, start: '300', end: '500' }]);
    expect(timeReport.passes[0]?.metrics.records).toBe(200);
    expect(timeReport.passes[0]?.metrics.labelled).toBe(200);

    const byOffset = mkdtempSync(join(tmpdir(), 'streamclust-replay-'));
    const offsetRun = await runCli(
      [
        'replay',
        '--topic',
        topic,
        '--from',
        '0:10',
        '--to',
        '110',
        '--passes',
        '2',
        '--report',
        byOffset,
        '--tsne-points',
        '0',
      ],
      env(),
    );
    expect(offsetRun.code).toBe(0);
    const offsetReport = readReport(byOffset);
    expect(offsetReport.data.partitions).toEqual([{ partition: 0, start: '10', end: '110' }]);
    expect(offsetReport.passes.map((p) => p.metrics.records)).toEqual([100, 100]);
  });
});
