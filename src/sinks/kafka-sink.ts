/**
 * Writes assignments and dead letters to their topics in one `sendBatch` with acks from all
 * in-sync replicas, through an idempotent producer (a retried send is not duplicated by the
 * broker). Dead letters keep the original key and bytes; the reason and the source coordinates
 * travel as headers, so the record can be fixed and replayed as it was.
 */
import { Kafka, type Producer, type TopicMessages } from 'kafkajs';

import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { kafkaClientConfig } from '../sources/kafka-source.js';
import { assignmentValue, type BatchOutput, type Sink } from './sink.js';

export async function createKafkaSink(
  config: Config['kafka'],
  logger: Logger,
  writeAssignments: boolean,
): Promise<Sink> {
  const kafka = new Kafka(kafkaClientConfig(config, logger));
  if (config.createTopics)
    await ensureTopics(
      kafka,
      [config.assignmentsTopic, config.deadLetterTopic, config.eventsTopic],
      logger,
    );
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return {
    async write(output: BatchOutput) {
      const topicMessages: TopicMessages[] = [];
      if (writeAssignments && output.assignments.length > 0) {
        topicMessages.push({
          topic: config.assignmentsTopic,
          messages: output.assignments.map((a) => ({
            key: a.record.key,
            value: JSON.stringify(assignmentValue(a)),
          })),
        });
      }
      if (output.deadLetters.length > 0) {
        topicMessages.push({
          topic: config.deadLetterTopic,
          messages: output.deadLetters.map((d) => ({
            key: d.record.key,
            value: d.record.value,
            headers: {
              'streamclust.reason': d.reason,
              'streamclust.error': d.message,
              'streamclust.source.topic': d.record.topic,
              'streamclust.source.partition': String(d.record.partition),
              'streamclust.source.offset': d.record.offset,
            },
          })),
        });
      }
      const events = output.events ?? [];
      if (events.length > 0) {
        topicMessages.push({
          topic: config.eventsTopic,
          messages: events.map((e) => ({ key: `${e.type}.${e.kind}`, value: JSON.stringify(e) })),
        });
      }
      if (topicMessages.length > 0) await producer.sendBatch({ topicMessages, acks: -1 });
    },
    async close() {
      await producer.disconnect();
    },
  };
}

async function ensureTopics(kafka: Kafka, topics: string[], logger: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    });
    logger.info('created output topics', { topics: missing.join(',') });
  } finally {
    await admin.disconnect();
  }
}
