/**
 * Writes assignments and dead letters to their topics in one `sendBatch` with acks from all
 * in-sync replicas, through an idempotent producer (a retried send is not duplicated by the
 * broker). Dead letters keep the original key and bytes; the reason and the source coordinates
 * travel as headers, so the record can be fixed and replayed as it was.
 *
 * With `kafka.delivery: exactly-once` the producer is transactional and each batch is one
 * transaction: the outputs and the input offsets they complete (`sendOffsets`) commit together
 * or not at all. kafkajs does not implement KIP-447 (fencing by consumer group metadata), so a
 * zombie instance is fenced by its transactional id only: give each instance a stable one.
 */
import { hostname } from 'node:os';

import { Kafka, type Producer, type TopicMessages } from 'kafkajs';

import type { Config } from '../config/schema.js';
import { StreamclustError } from '../errors.js';
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
  const transactional = config.delivery === 'exactly-once';
  const transactionalId =
    config.transactionalId !== ''
      ? config.transactionalId
      : `${config.groupId}-${hostname()}-${process.pid}`;
  const newProducer = (): Producer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      ...(transactional ? { transactionalId } : {}),
    });
  let producer = newProducer();
  let connected: Promise<void> = producer.connect();
  await connected;
  /**
   * A send in flight while the broker restarts can stay pending for good (kafkajs neither
   * resolves nor rejects it), which would hold the whole stream. After writeTimeoutMs the write
   * fails as retriable and the producer is replaced: the retry goes through a fresh one. The
   * abandoned send may still land, so a record can be written twice: at-least-once allows it,
   * and with transactions the new producer fences the old one, aborting its transaction.
   */
  const withTimeout = async (work: (p: Producer) => Promise<void>): Promise<void> => {
    try {
      await connected;
    } catch {
      // The last (re)connection failed, e.g. while the broker was away: try again now.
      connected = producer.connect();
      await connected;
    }
    const current = producer;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new StreamclustError(
            `writing to Kafka took longer than kafka.writeTimeoutMs (${config.writeTimeoutMs} ms)`,
            { retriable: true },
          ),
        );
      }, config.writeTimeoutMs);
    });
    try {
      await Promise.race([work(current), timeout]);
    } catch (error) {
      if (error instanceof StreamclustError && current === producer) {
        logger.warn('a Kafka write hung; replacing the producer', {
          timeoutMs: config.writeTimeoutMs,
        });
        void current.disconnect().catch(() => undefined);
        producer = newProducer();
        connected = producer.connect();
        connected.catch(() => undefined);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
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
      if (topicMessages.length === 0 && (output.offsets ?? []).length === 0) return;
      await withTimeout((p) => (transactional ? writeTransaction(p) : writePlain(p)));
      async function writePlain(p: Producer): Promise<void> {
        await p.sendBatch({ topicMessages, acks: -1 });
      }
      async function writeTransaction(p: Producer): Promise<void> {
        const transaction = await p.transaction();
        try {
          if (topicMessages.length > 0) await transaction.sendBatch({ topicMessages, acks: -1 });
          const offsets = output.offsets ?? [];
          if (offsets.length > 0) {
            await transaction.sendOffsets({
              consumerGroupId: config.groupId,
              topics: groupByTopic(offsets),
            });
          }
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
      }
    },
    async close() {
      await producer.disconnect();
    },
  };
}

function groupByTopic(
  offsets: readonly { topic: string; partition: number; offset: string }[],
): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const o of offsets) {
    const list = byTopic.get(o.topic) ?? [];
    list.push({ partition: o.partition, offset: o.offset });
    byTopic.set(o.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
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
