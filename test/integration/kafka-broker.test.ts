// Proves the Kafka test helpers against a real broker: what later integration tests rely on.
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaBroker } from '../helpers/kafka-broker.js';
import {
  KafkaHelpers,
  committedOffsets,
  createKafka,
  createTopic,
  describeWithKafka,
  endOffsets,
  kafkaBrokers,
  produceJson,
  produceRaw,
  readAll,
  uniqueName,
  waitFor,
} from '../helpers/kafka.js';

describe('waitFor and uniqueName', () => {
  it('returns the first value that is neither undefined nor false', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls === 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('times out with the message, the last value and the last error', async () => {
    let calls = 0;
    const failing = waitFor(
      () => {
        calls += 1;
        if (calls % 2 === 0) throw new Error(`probe error ${calls}`);
        return false;
      },
      { timeoutMs: 50, intervalMs: 5, message: 'never ready' },
    );
    await expect(failing).rejects.toThrow(/^never ready \(after 50 ms\); last value: false/);
    await expect(failing).rejects.toThrow(/last error: Error: probe error \d+/);
  });

  it('makes distinct, valid topic names', () => {
    const names = new Set(Array.from({ length: 50 }, () => uniqueName('a topic/with:odd*chars')));
    expect(names.size).toBe(50);
    for (const name of names) expect(name).toMatch(/^a-topic-with-odd-chars-[a-zA-Z0-9._-]+$/);
  });
});

describeWithKafka('Kafka test helpers against the shared broker', () => {
  it('reads back exactly the records produced, with their partitions and offsets', async () => {
    const topic = uniqueName('helpers-roundtrip');
    await createTopic(topic, 3);
    const sent = Array.from({ length: 100 }, (_, i) => ({
      key: `key-${i}`,
      value: { i, label: `record ${i}` },
      partition: i % 3,
      headers: { source: 'kafka-broker.test', index: String(i) },
    }));
    await produceJson(topic, sent);

    expect(await endOffsets(topic)).toEqual(
      new Map([
        [0, '34'],
        [1, '33'],
        [2, '33'],
      ]),
    );
    const records = await readAll(topic);
    expect(records).toHaveLength(100);
    const expected = [...sent].sort((a, b) => a.partition - b.partition || a.value.i - b.value.i);
    records.forEach((record, n) => {
      const source = expected[n];
      expect(record.partition).toBe(source?.partition);
      // Partition p holds i = p, p + 3, p + 6, ... in the order they were sent.
      expect(record.offset).toBe(String(Math.floor((source?.value.i ?? -1) / 3)));
      expect(record.key).toBe(source?.key);
      expect(JSON.parse(record.value?.toString('utf8') ?? 'null')).toEqual(source?.value);
      expect(record.headers).toEqual(source?.headers);
      expect(Number(record.timestamp)).toBeGreaterThan(0);
    });
  });

  it('reads an empty topic as no records, and null keys and values as null', async () => {
    const topic = uniqueName('helpers-raw');
    await createTopic(topic, 2);
    expect(await readAll(topic)).toEqual([]);

    await produceRaw(topic, [
      { key: null, value: Buffer.from([0, 255, 1]), partition: 1 },
      { key: 'tombstone', value: null, partition: 1 },
    ]);
    const records = await readAll(topic);
    expect(
      records.map(({ partition, offset, key, value }) => ({ partition, offset, key, value })),
    ).toEqual([
      { partition: 1, offset: '0', key: null, value: Buffer.from([0, 255, 1]) },
      { partition: 1, offset: '1', key: 'tombstone', value: null },
    ]);
  });

  it('stops at the end of a transactional topic and hides aborted records', async () => {
    const topic = uniqueName('helpers-tx');
    await createTopic(topic, 1);
    const producer = createKafka().producer({
      transactionalId: uniqueName('helpers-tx-producer'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ value: 'kept-1' }, { value: 'kept-2' }] });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ value: 'dropped' }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }

    // Offsets 0-1 data, 2 commit marker, 3 dropped, 4 abort marker. The coordinator writes
    // markers after commit()/abort() return, so the last stable offset gets there a bit later.
    await waitFor(async () => (await endOffsets(topic)).get(0) === '5', {
      message: `the abort marker of ${topic} never became stable`,
    });
    const records = await readAll(topic, { timeoutMs: 20_000 });
    expect(records.map((record) => record.value?.toString())).toEqual(['kept-1', 'kept-2']);
  });

  it('sees a consumer group commit in committedOffsets', async () => {
    const topic = uniqueName('helpers-commit');
    const groupId = uniqueName('helpers-commit-group');
    await createTopic(topic, 2);
    await produceJson(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: i, partition: i < 7 ? 0 : 1 })),
    );
    expect(await committedOffsets(groupId, topic)).toEqual(new Map());

    const consumed = await consumeAndCommit(new KafkaHelpers(kafkaBrokers()), topic, groupId, 10);
    expect(consumed).toEqual(
      new Map([
        [0, 7],
        [1, 3],
      ]),
    );
    expect(await committedOffsets(groupId, topic)).toEqual(
      new Map([
        [0, '7'],
        [1, '3'],
      ]),
    );
  });
});

describeWithKafka('KafkaBroker', () => {
  let broker: KafkaBroker | undefined;
  afterAll(async () => {
    await broker?.destroy();
  });

  it('keeps topics, records and committed offsets across stop() and restart()', async () => {
    broker = await KafkaBroker.start();
    expect(broker.brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    const kafka = new KafkaHelpers(broker.brokers);
    const topic = uniqueName('broker-restart');
    const groupId = uniqueName('broker-restart-group');
    await kafka.createTopic(topic, 2);
    await kafka.produceJson(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { i }, partition: i % 2 })),
    );
    await consumeAndCommit(kafka, topic, groupId, 20);

    await broker.stop();
    expect(await connectionRefused(broker.brokers)).toBe(true);

    await broker.restart();
    const records = await kafka.readAll(topic);
    expect(records.map((r) => [r.partition, r.offset, r.key])).toEqual(
      Array.from({ length: 20 }, (_, n) => {
        // Sorted by partition: first the ten even i on partition 0, then the odd ones.
        const i = n < 10 ? 2 * n : 2 * (n - 10) + 1;
        return [i % 2, String(Math.floor(i / 2)), `k${i}`];
      }),
    );
    expect(await kafka.committedOffsets(groupId, topic)).toEqual(
      new Map([
        [0, '10'],
        [1, '10'],
      ]),
    );
    const log = await readFile(broker.logFile, 'utf8');
    // One log across both runs, so a failure after a restart still shows the first run.
    expect(log.match(/Kafka Server started/g)).toHaveLength(2);
  });
});

/**
 * Consumes the topic in a group the way the pipeline does (eachBatch, no auto-commit, the next
 * offset committed by hand after each batch) until `total` records were seen and the broker
 * shows every consumed partition committed; returns the records seen per partition.
 */
async function consumeAndCommit(
  kafka: KafkaHelpers,
  topic: string,
  groupId: string,
  total: number,
): Promise<Map<number, number>> {
  const consumer = kafka.createKafka().consumer({ groupId, maxWaitTimeInMs: 250 });
  const consumed = new Map<number, number>();
  const next = new Map<number, string>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const count = (consumed.get(batch.partition) ?? 0) + batch.messages.length;
        consumed.set(batch.partition, count);
        const offset = String(Number(batch.lastOffset()) + 1);
        next.set(batch.partition, offset);
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset }]);
      },
    });
    // Commits land asynchronously to this function; ask the broker, not the consumer.
    await waitFor(
      async () => {
        const seen = [...consumed.values()].reduce((sum, n) => sum + n, 0);
        if (seen < total) return false;
        const committed = await kafka.committedOffsets(groupId, topic);
        return [...next].every(([partition, offset]) => committed.get(partition) === offset);
      },
      { message: `group ${groupId} did not consume and commit ${total} records of ${topic}` },
    );
  } finally {
    await consumer.disconnect();
  }
  return consumed;
}

/** True when nothing listens on host:port, i.e. the broker process is really gone. */
function connectionRefused(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
