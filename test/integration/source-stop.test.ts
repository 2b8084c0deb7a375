// A Kafka source stopped while its consumer is still joining the group (a SIGTERM at start-up,
// a stop during kafkajs' restart after a broker outage) must leave the group. kafkajs' stop()
// returns at once while a join is in flight and the join then completes: without care the
// stopped instance stays a member with no pipeline behind it, holding its partitions while the
// other instances wait (the chaos test's "instance A did not finish the stream").
import { afterEach, beforeAll, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { createKafkaSource } from '../../src/sources/kafka-source.js';
import type { RecordChunk, Source } from '../../src/sources/source.js';
import {
  describeWithKafka,
  KafkaHelpers,
  kafkaBrokers,
  uniqueName,
  waitFor,
} from '../helpers/kafka.js';

const PARTITIONS = 2;

describeWithKafka('stopping the Kafka source while its consumer joins the group', () => {
  let kafka: KafkaHelpers;
  const sources: Source[] = [];

  beforeAll(() => {
    kafka = new KafkaHelpers(kafkaBrokers());
  });

  afterEach(async () => {
    await Promise.allSettled(sources.splice(0).map((s) => s.close()));
  });

  it('leaves the group, so the instance that stays reads every partition at once', async () => {
    const topic = uniqueName('stop-joining');
    const groupId = uniqueName('stop-joining-group');
    await kafka.createTopic(topic, PARTITIONS);
    // A long heartbeat interval: the first member learns of the second one's join only at its
    // next heartbeat, up to 4 s away, so the second one's JoinGroup stays in flight that long.
    const config = validateConfig({
      kafka: {
        brokers: kafka.brokers,
        inputTopic: topic,
        groupId,
        heartbeatIntervalMs: 4_000,
        sessionTimeoutMs: 30_000,
      },
    }).kafka;

    const first = createKafkaSource(config, silentLogger);
    sources.push(first);
    const read = new Map<number, number>();
    first.chunks.subscribe((chunk: RecordChunk) => {
      for (const r of chunk.records) read.set(r.partition, (read.get(r.partition) ?? 0) + 1);
      chunk.records.forEach(() => chunk.settle());
    });
    const produce = (n: number) =>
      kafka.produceRaw(
        topic,
        Array.from({ length: n }, (_, i) => ({ value: `{"n":${i}}`, partition: i % PARTITIONS })),
      );
    await produce(10);
    await waitFor(() => read.size === PARTITIONS, {
      timeoutMs: 30_000,
      message: () => `the first source read partitions ${[...read.keys()].join(',')}`,
    });

    // The second member: stopped once kafkajs starts its consumer, i.e. with its join in flight.
    let started!: () => void;
    const starting = new Promise<void>((resolve) => (started = resolve));
    const second = createKafkaSource(
      config,
      createLogger('debug', (line) => {
        if (line.includes('kafkajs: Starting')) started();
      }),
    );
    sources.push(second);
    second.chunks.subscribe((chunk) => chunk.records.forEach(() => chunk.settle()));
    await starting;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await second.stop();
    await second.close();

    // The group is the first member alone, well within a session timeout (30 s), and the first
    // one reads every partition again: nothing is held by the stopped one.
    await waitFor(
      async () => {
        const group = await kafka.groupMembers(groupId);
        return group.state === 'Stable' && group.members === 1;
      },
      { timeoutMs: 20_000, message: () => 'the group did not settle on one member' },
    );
    read.clear();
    await produce(10);
    await waitFor(() => read.size === PARTITIONS, {
      timeoutMs: 20_000,
      message: () =>
        `after the stop, the remaining source read only partitions ${[...read.keys()].join(',')}`,
    });
  }, 90_000);
});
