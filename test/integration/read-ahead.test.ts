// The Kafka source reads ahead of the outputs (kafka.readAheadRecords) on a real broker: a fetch
// is read while earlier records are still unwritten, but never more than the bound, offsets are
// committed only once their records are written, and a stop commits what was read ahead before
// the consumer leaves its group.
import { Kafka, type Consumer } from 'kafkajs';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { createKafkaSource } from '../../src/sources/kafka-source.js';
import type { RecordChunk, Source } from '../../src/sources/source.js';
import {
  describeWithKafka,
  KafkaHelpers,
  kafkaBrokers,
  uniqueName,
  waitFor,
} from '../helpers/kafka.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithKafka('reading ahead of the outputs (kafka.readAheadRecords)', () => {
  let kafka: KafkaHelpers;
  let source: Source | undefined;

  beforeAll(() => {
    kafka = new KafkaHelpers(kafkaBrokers());
  });

  afterEach(async () => {
    await source?.close();
    source = undefined;
    vi.restoreAllMocks();
  });

  async function start(readAheadRecords: number) {
    const topic = uniqueName('read-ahead');
    const groupId = uniqueName('read-ahead-group');
    await kafka.createTopic(topic, 1);
    const config = validateConfig({
      kafka: { brokers: kafka.brokers, inputTopic: topic, groupId, readAheadRecords },
    });
    const chunks: RecordChunk[] = [];
    source = createKafkaSource(config.kafka, silentLogger);
    source.chunks.subscribe((chunk) => chunks.push(chunk));
    let produced = 0;
    /** Produces n more records (one produce: they arrive in one fetch once the reader is idle). */
    const produce = async (n: number) => {
      await kafka.produceRaw(
        topic,
        Array.from({ length: n }, (_, i) => ({ value: `{"features":[${produced + i}]}` })),
      );
      produced += n;
    };
    const received = () => chunks.reduce((n, c) => n + c.records.length, 0);
    const settle = (chunk: RecordChunk) => chunk.records.forEach(() => chunk.settle());
    const committed = async () => (await kafka.committedOffsets(groupId, topic)).get(0);
    return { chunks, produce, received, settle, committed };
  }

  it('reads the next fetch while earlier records are unwritten, up to the bound, and commits only what was written', async () => {
    const { chunks, produce, received, settle, committed } = await start(1_500);
    await produce(1_000);
    await waitFor(() => received() === 1_000, { message: 'the first 1,000 records' });
    // 1,000 unwritten ≤ 1,500: the handler returned, and the next records are read.
    await produce(1_000);
    await waitFor(() => received() === 2_000, {
      message: () => `read ahead: ${received()} of 2,000 records received`,
    });
    // 2,000 unwritten > 1,500: no further fetch until records are written.
    await produce(1_000);
    await sleep(3_000);
    expect(received()).toBe(2_000);
    expect(await committed()).toSatisfy((o: string | undefined) => o === undefined || o === '-1');
    // Writing the first chunk makes room (1,000 unwritten) and commits its offsets.
    settle(chunks[0]!);
    await waitFor(() => received() === 3_000, { message: 'the third 1,000 after room was made' });
    await waitFor(async () => (await committed()) === '1000', { message: 'commit after chunk 1' });
    chunks.slice(1).forEach(settle);
    await waitFor(async () => (await committed()) === '3000', { message: 'commit of all' });
  });

  it('with 0, no fetch is read until the records before it are written', async () => {
    const { chunks, produce, received, settle } = await start(0);
    await produce(500);
    await waitFor(() => received() === 500);
    await produce(500);
    await sleep(3_000);
    expect(received()).toBe(500);
    settle(chunks[0]!);
    await waitFor(() => received() === 1_000, { message: 'the next fetch after the write' });
    settle(chunks[1]!);
  });

  it('a stop commits the records read ahead, once written, before the consumer leaves', async () => {
    const { chunks, produce, received, settle, committed } = await start(4_096);
    await produce(800);
    await waitFor(() => received() === 800);
    await produce(800);
    await waitFor(() => received() === 1_600);
    let stopped = false;
    const stopping = source!.stop().then(() => (stopped = true));
    await sleep(1_000);
    // Both chunks are unwritten: the stop waits for them.
    expect(stopped).toBe(false);
    chunks.forEach(settle);
    await stopping;
    expect(await committed()).toBe('1600');
  });

  it('commits the offsets of chunks written together in one request, not one per chunk', async () => {
    // Counts the commit requests of the source's own consumer.
    const commitRequests: number[] = [];
    const consumerOf = Kafka.prototype.consumer;
    vi.spyOn(Kafka.prototype, 'consumer').mockImplementation(function (this: Kafka, config) {
      const consumer: Consumer = consumerOf.call(this, config);
      const commitOffsets = consumer.commitOffsets.bind(consumer);
      consumer.commitOffsets = (offsets) => {
        commitRequests.push(offsets.length);
        return commitOffsets(offsets);
      };
      return consumer;
    });
    const { chunks, produce, received, settle, committed } = await start(100_000);
    // One produce at a time, each read before the next: one chunk each.
    for (let i = 1; i <= 8; i++) {
      await produce(50);
      await waitFor(() => received() === 50 * i, { message: () => `chunk ${i} not read` });
    }
    expect(chunks.length).toBe(8);
    // All written at once: a commit per chunk would send 8 requests.
    chunks.forEach(settle);
    await waitFor(async () => (await committed()) === '400', { message: 'commit of all 400' });
    expect(commitRequests.length).toBeLessThanOrEqual(2);
  });
});
