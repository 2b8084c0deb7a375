// The Kafka sink on its own thread (kafka.producerThread: worker, the default) against the same
// sink on the main thread, on a real broker: the same batch must land as the same records (keys,
// values, headers, in the same order), exactly-once must commit the input offsets in the
// outputs' transaction from the thread, and a sink whose thread has ended must refuse writes
// instead of hanging. The pipeline-level fault tests (stalls, broker outage, exactly-once) run
// through the thread too, since it is the default.
import { beforeAll, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { createKafkaSink } from '../../src/sinks/kafka-sink.js';
import { createKafkaSinkThread } from '../../src/sinks/kafka-sink-thread.js';
import {
  assignmentOrigin,
  type OutputSink,
  type WrittenAssignment,
  type WrittenOutput,
} from '../../src/sinks/sink.js';
import { pipelineTopics, type PipelineTopics } from '../helpers/fault-records.js';
import { describeWithKafka, KafkaHelpers, kafkaBrokers } from '../helpers/kafka.js';

function batch(inputTopic: string): WrittenOutput {
  const assignments: WrittenAssignment[] = Array.from({ length: 300 }, (_, i) => ({
    record: {
      topic: inputTopic,
      partition: i % 3,
      offset: String(1000 + i),
      key:
        i % 50 === 7
          ? null
          : i % 50 === 8
            ? Buffer.from([0xff, 0xfe, i & 0xff])
            : Buffer.from(`key-${i}`),
      value: null,
      timestamp: 1_700_000_000_000 + i,
    },
    clusterId: i % 7,
    distance: i / 7,
    outlier: i % 11 === 0,
    modelVersion: 3,
    storeVersion: 40 + i,
  }));
  return {
    assignments,
    deadLetters: [
      {
        reason: 'malformed_json',
        message: 'Unexpected token o in JSON at position 13',
        record: {
          topic: inputTopic,
          partition: 1,
          offset: '77',
          timestamp: 1_700_000_000_077,
          key: Buffer.from('bad-1'),
          value: Buffer.from('{"features": oops'),
          headers: { trace: Buffer.from('abc'), origin: 'sensor-4' },
        },
      },
    ],
    events: [{ type: 'lifecycle', kind: 'born', detail: { cluster: 4 }, at: 1_700_000_000_500 }],
  };
}

describeWithKafka('the Kafka sink on its own thread', () => {
  let kafka: KafkaHelpers;

  beforeAll(() => {
    kafka = new KafkaHelpers(kafkaBrokers());
  });

  const configFor = (topics: PipelineTopics, kafkaOverrides: Record<string, unknown> = {}) =>
    validateConfig({
      kafka: { brokers: kafka.brokers, ...topics, topicPartitions: 1, ...kafkaOverrides },
    }).kafka;

  const written = async (topics: PipelineTopics) => {
    const read = async (topic: string) =>
      (await kafka.readAll(topic)).map((r) => ({
        key: r.key,
        value: r.value?.toString('base64') ?? null,
        headers: r.headers,
      }));
    return {
      assignments: await read(topics.assignmentsTopic),
      deadLetters: await read(topics.deadLetterTopic),
      events: await read(topics.eventsTopic),
    };
  };

  it('writes a batch as the same records, in the same order, as the sink on the main thread', async () => {
    const origin = assignmentOrigin('instance-1', 'run-1');
    const results = [];
    for (const open of [createKafkaSink, createKafkaSinkThread]) {
      const topics = pipelineTopics(`thread-${open.name}`);
      const sink: OutputSink = await open(configFor(topics), silentLogger, true, origin);
      try {
        await sink.write(batch('events-in'));
      } finally {
        await sink.close();
      }
      results.push(await written(topics));
    }
    const [main, thread] = results;
    expect(main!.assignments).toHaveLength(300);
    expect(main!.deadLetters).toHaveLength(1);
    expect(main!.events).toHaveLength(1);
    expect(thread).toEqual(main);
    // The values are the assignments' JSON, the binary keys as keyBase64, the origin at the end.
    const value = JSON.parse(
      Buffer.from(thread!.assignments[8]!.value!, 'base64').toString('utf8'),
    ) as Record<string, unknown>;
    expect(value).toMatchObject({
      key: null,
      keyBase64: Buffer.from([0xff, 0xfe, 8]).toString('base64'),
      offset: '1008',
      clusterId: 1,
      instance: 'instance-1',
      run: 'run-1',
    });
    expect(thread!.deadLetters[0]!.headers).toMatchObject({
      trace: 'abc',
      origin: 'sensor-4',
      'streamclust.reason': 'malformed_json',
      'streamclust.source.offset': '77',
    });
  });

  it('exactly-once from the thread: the outputs and the input offsets commit together', async () => {
    const topics = pipelineTopics('thread-eos');
    await kafka.createTopic(topics.inputTopic, 3);
    const sink = await createKafkaSinkThread(
      configFor(topics, { delivery: 'exactly-once', transactionalId: topics.groupId }),
      silentLogger,
      true,
    );
    const offsets = [
      { topic: topics.inputTopic, partition: 0, offset: '12' },
      { topic: topics.inputTopic, partition: 2, offset: '30' },
    ];
    try {
      await sink.write({ ...batch(topics.inputTopic), offsets });
    } finally {
      await sink.close();
    }
    const committed = await kafka.committedOffsets(topics.groupId, topics.inputTopic);
    expect(committed.get(0)).toBe('12');
    expect(committed.get(2)).toBe('30');
    expect((await written(topics)).assignments).toHaveLength(300);
  });

  it('refuses writes once its thread has ended, instead of waiting for ever', async () => {
    const topics = pipelineTopics('thread-closed');
    const sink = await createKafkaSinkThread(configFor(topics), silentLogger, true);
    await sink.close();
    await expect(sink.write(batch('events-in'))).rejects.toThrow(/the Kafka sink's thread ended/);
  });
});
