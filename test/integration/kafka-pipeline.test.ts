import { expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { nmi } from '../../src/eval/metrics/index.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import {
  committedOffsets,
  createTopic,
  describeWithKafka,
  endOffsets,
  kafkaBrokers,
  produceRaw,
  readAll,
  uniqueName,
  waitFor,
} from '../helpers/kafka.js';
import { mixtureRecords, PIPELINE_MIXTURE } from '../helpers/mixture-records.js';
import { PLUMBING_TRAINING } from '../helpers/plumbing.js';

const coordinate = (partition: number | string, offset: string): string => `${partition}/${offset}`;

describeWithKafka('pipeline against a real Kafka broker', () => {
  it('assigns every valid record, dead-letters every malformed one, commits the end offsets, NMI >= 0.9', async () => {
    const input = uniqueName('input');
    const assignmentsTopic = uniqueName('assignments');
    const deadLetterTopic = uniqueName('dead-letter');
    const groupId = uniqueName('group');
    await createTopic(input, 3);
    const { records, malformedKeys } = mixtureRecords(PIPELINE_MIXTURE);
    records.forEach((r, i) => (r.partition = i % 3));
    await produceRaw(input, records);
    const produced = await readAll(input);
    expect(produced).toHaveLength(records.length);

    const config = validateConfig({
      source: 'kafka',
      kafka: {
        brokers: kafkaBrokers(),
        inputTopic: input,
        groupId,
        assignmentsTopic,
        deadLetterTopic,
      },
      cluster: { k: 5 },
      training: PLUMBING_TRAINING,
      http: { enabled: false },
      log: { level: 'silent', statusIntervalMs: 0 },
    });
    const pipeline = await createPipeline(config, {
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    const running = pipeline.run();
    const ends = await endOffsets(input);
    await waitFor(
      async () => {
        const committed = await committedOffsets(groupId, input);
        return [...ends].every(([p, end]) => committed.get(p) === end);
      },
      { timeoutMs: 120_000, message: 'the group did not commit the end offsets' },
    );
    await pipeline.stop();
    await running;

    expect(await committedOffsets(groupId, input)).toEqual(ends);

    const valid = produced.filter((r) => !malformedKeys.has(r.key ?? ''));
    const invalid = produced.filter((r) => malformedKeys.has(r.key ?? ''));
    expect(invalid).toHaveLength(7);

    const assignments = (await readAll(assignmentsTopic)).map(
      (r) =>
        JSON.parse(r.value!.toString()) as {
          partition: number;
          offset: string;
          clusterId: number;
          key: string;
        },
    );
    const assigned = new Map(assignments.map((a) => [coordinate(a.partition, a.offset), a]));
    const missing = valid.filter((r) => !assigned.has(coordinate(r.partition, r.offset)));
    expect(missing).toEqual([]);
    for (const r of invalid) expect(assigned.has(coordinate(r.partition, r.offset))).toBe(false);

    const deadLetters = await readAll(deadLetterTopic);
    const byCoordinate = new Map(
      deadLetters.map((d) => [
        coordinate(
          d.headers['streamclust.source.partition']!,
          d.headers['streamclust.source.offset']!,
        ),
        d,
      ]),
    );
    for (const r of invalid) {
      const d = byCoordinate.get(coordinate(r.partition, r.offset));
      expect(d, `dead letter for ${r.key}`).toBeDefined();
      expect(d!.headers['streamclust.reason']).toBe(malformedKeys.get(r.key!));
      expect(d!.headers['streamclust.source.topic']).toBe(input);
      expect(d!.value === null ? null : d!.value.toString('hex')).toBe(
        r.value === null ? null : r.value.toString('hex'),
      );
      expect(d!.key).toBe(r.key);
    }

    const labels = valid.map((r) => (JSON.parse(r.value!.toString()) as { label: number }).label);
    const predicted = valid.map((r) => assigned.get(coordinate(r.partition, r.offset))!.clusterId);
    const score = nmi(labels, predicted);
    console.log(`[kafka-pipeline] NMI ${score.toFixed(4)} over ${valid.length} valid records`);
    expect(score).toBeGreaterThanOrEqual(0.9);
  });
});
