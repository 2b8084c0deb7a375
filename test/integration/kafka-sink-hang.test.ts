// A Kafka write that never answers must not hold the stream: kafkajs can leave a send pending
// for good across a broker restart, and a reconnection too (its connect() after a reset
// connection). The sink gives up on either after kafka.writeTimeoutMs and retries through a
// fresh producer. (The chaos test once stalled for good after "writing to the sinks failed;
// retrying attempt=2 ... ECONNREFUSED": the reconnection was awaited outside the timeout.)
import { Kafka, type Producer } from 'kafkajs';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { createKafkaSink } from '../../src/sinks/kafka-sink.js';
import type { WrittenOutput } from '../../src/sinks/sink.js';
import { pipelineTopics } from '../helpers/fault-records.js';
import { describeWithKafka, KafkaHelpers, kafkaBrokers } from '../helpers/kafka.js';

const WRITE_TIMEOUT_MS = 1_000;

function batch(n: number): WrittenOutput {
  return {
    assignments: [
      {
        record: {
          topic: 'input',
          partition: 0,
          offset: String(n),
          key: Buffer.from(`key-${n}`),
          value: null,
          timestamp: 1_700_000_000_000 + n,
        },
        clusterId: 1,
        distance: 0.5,
        outlier: false,
        modelVersion: 1,
        storeVersion: 1,
      },
    ],
    deadLetters: [],
  };
}

/** The promise, or a rejection saying it neither resolved nor rejected within ms. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describeWithKafka('a Kafka write that hangs', () => {
  let kafka: KafkaHelpers;

  beforeAll(() => {
    kafka = new KafkaHelpers(kafkaBrokers());
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is given up after kafka.writeTimeoutMs, its reconnection included, and retried on a fresh producer', async () => {
    // The sink's producers in the order it makes them: the first one's first send never
    // answers, the second one's connect() never answers, the third one works.
    const never = new Promise<never>(() => undefined);
    let made = 0;
    const producerOf = Kafka.prototype.producer;
    vi.spyOn(Kafka.prototype, 'producer').mockImplementation(function (this: Kafka, config) {
      const producer: Producer = producerOf.call(this, config);
      made += 1;
      if (made === 1) {
        const sendBatch = producer.sendBatch.bind(producer);
        let sends = 0;
        producer.sendBatch = (b) => (++sends === 1 ? never : sendBatch(b));
      }
      if (made === 2) producer.connect = () => never;
      return producer;
    });
    const topics = pipelineTopics('sink-hang');
    const lines: string[] = [];
    const sink = await createKafkaSink(
      validateConfig({
        kafka: {
          brokers: kafka.brokers,
          ...topics,
          topicPartitions: 1,
          writeTimeoutMs: WRITE_TIMEOUT_MS,
        },
      }).kafka,
      createLogger('warn', (line) => lines.push(line)),
      true,
    );
    const timedOut = /took longer than kafka.writeTimeoutMs \(1000 ms\)/;
    try {
      // The send that never answers.
      await expect(sink.write(batch(1))).rejects.toThrow(timedOut);
      // The fresh producer's connection that never answers: without the timeout around it,
      // this write, and the stream behind it, would wait for ever.
      await expect(within(sink.write(batch(2)), 10_000)).rejects.toThrow(timedOut);
      expect(made).toBe(3);
      // The third producer writes.
      await sink.write(batch(3));
    } finally {
      await sink.close();
    }
    expect(lines.filter((l) => l.includes('a Kafka write hung')).length).toBe(2);
    const written = await kafka.readAll(topics.assignmentsTopic);
    expect(written.map((r) => r.key?.toString())).toEqual(['key-3']);
  }, 60_000);
});
