/**
 * Writes assignments and dead letters to their topics in one `sendBatch` with acks from all
 * in-sync replicas, compressed as `kafka.compression` says, through an idempotent producer (a
 * retried send is not duplicated by the broker). Dead letters keep the original key, bytes and
 * headers; the reason and the source coordinates travel as headers, so the record can be fixed
 * and replayed as it was. A request the broker refuses as too large is sent again in halves; a
 * single message still too large stops the pipeline with the topic and the fix.
 *
 * With `kafka.delivery: exactly-once` the producer is transactional and each batch is one
 * transaction: the outputs and the input offsets they complete (`sendOffsets`) commit together
 * or not at all. kafkajs does not implement KIP-447 (fencing by consumer group metadata), so a
 * zombie instance is fenced by its transactional id only: give each instance a stable one.
 */
import { hostname } from 'node:os';

import kafkajs, { Kafka, type Admin, type Producer, type TopicMessages } from 'kafkajs';

import type { Config } from '../config/schema.js';
import { protocolType, RefusedError, StreamclustError } from '../errors.js';
import type { Logger } from '../log.js';
import { compressionType } from '../kafka/codecs.js';
import { kafkaClientConfig } from '../kafka/client.js';
import {
  assignmentJson,
  type OutputSink,
  type WrittenDeadLetter,
  type WrittenOutput,
} from './sink.js';

export async function createKafkaSink(
  config: Config['kafka'],
  logger: Logger,
  writeAssignments: boolean,
  /** assignmentOrigin(): the instance and run every assignment carries. */
  origin = '',
): Promise<OutputSink> {
  const kafka = new Kafka(kafkaClientConfig(config, logger));
  // Dead letters carry the whole original value, which may be larger than the dead-letter
  // topic accepts (an input topic with a larger max.message.bytes): they are cut to fit.
  const deadLetterLimit = await prepareTopics(kafka, config, logger);
  const transactional = config.delivery === 'exactly-once';
  const compression = compressionType(config.compression);
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
   * resolves nor rejects it), and so can a reconnection (kafkajs' connect() after a reset
   * connection): either would hold the whole stream. After writeTimeoutMs, counted from the
   * write's start with its reconnection included, the write fails as retriable and the producer
   * is replaced: the retry goes through a fresh one. The abandoned send may still land, so a
   * record can be written twice: at-least-once allows it, and with transactions the new
   * producer fences the old one, aborting its transaction.
   */
  const withTimeout = async (work: (p: Producer) => Promise<void>): Promise<void> => {
    const current = producer;
    let timer: NodeJS.Timeout | undefined;
    // The timeout's own error: a refusal thrown by the work is a StreamclustError too.
    let hung: StreamclustError | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        hung = new StreamclustError(
          `writing to Kafka took longer than kafka.writeTimeoutMs (${config.writeTimeoutMs} ms)`,
          { retriable: true },
        );
        reject(hung);
      }, config.writeTimeoutMs);
    });
    const connectAndWork = async (): Promise<void> => {
      try {
        await connected;
      } catch {
        // The last (re)connection failed, e.g. while the broker was away: try again now.
        if (current !== producer) return;
        connected = producer.connect();
        await connected;
      }
      // Abandoned meanwhile (the timeout replaced the producer): nothing is sent on this one.
      if (current !== producer) return;
      await work(current);
    };
    const replace = (): void => {
      if (current !== producer) return;
      void current.disconnect().catch(() => undefined);
      producer = newProducer();
      connected = producer.connect();
      connected.catch(() => undefined);
    };
    try {
      await Promise.race([connectAndWork(), timeout]);
    } catch (error) {
      if (error === hung) {
        logger.warn('a Kafka write hung; replacing the producer', {
          timeoutMs: config.writeTimeoutMs,
        });
        replace();
      } else if (!transactional && lostSequence(error)) {
        // The broker and the producer disagree on the sequence numbers (a request that reached
        // the broker but whose answer was lost in a restart). A fresh producer id starts a new
        // sequence, as Java's producer does; the retry may write these records twice.
        logger.warn("the broker refused the producer's sequence numbers; replacing the producer", {
          error: String(error),
        });
        replace();
        throw new StreamclustError(`writing to Kafka failed: ${String(error)}`, {
          retriable: true,
          cause: error,
        });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async write(output: WrittenOutput) {
      const topicMessages: TopicMessages[] = [];
      if (writeAssignments && output.assignments.length > 0) {
        topicMessages.push({
          topic: config.assignmentsTopic,
          messages: output.assignments.map((a) => ({
            key: a.record.key,
            value: assignmentJson(a, origin),
          })),
        });
      }
      if (output.deadLetters.length > 0) {
        topicMessages.push({
          topic: config.deadLetterTopic,
          messages: output.deadLetters.map((d) => deadLetterMessage(d, deadLetterLimit)),
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
        await sendSplitting(
          (batch) => p.sendBatch({ topicMessages: batch, acks: -1, compression }),
          topicMessages,
        );
      }
      async function writeTransaction(p: Producer): Promise<void> {
        const transaction = await p.transaction();
        try {
          if (topicMessages.length > 0) {
            await sendSplitting(
              (batch) => transaction.sendBatch({ topicMessages: batch, acks: -1, compression }),
              topicMessages,
            );
          }
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

type Send = (topicMessages: TopicMessages[]) => Promise<unknown>;

/**
 * Sends the messages; when the broker refuses the request as too large for a topic
 * (`max.message.bytes`: a batch of many small records can exceed it), sends each topic's
 * messages in halves, down to one message. A single message that is still too large is a
 * permanent refusal: it fails with the topic, the size and the fix.
 */
async function sendSplitting(send: Send, topicMessages: TopicMessages[]): Promise<void> {
  try {
    await send(topicMessages);
    return;
  } catch (error) {
    if (!isTooLarge(error)) throw error;
    const count = topicMessages.reduce((n, t) => n + t.messages.length, 0);
    if (count <= 1) {
      const t = topicMessages[0];
      const m = t?.messages[0];
      throw new RefusedError(
        `the topic ${t?.topic ?? '?'} refuses a message of about ${m === undefined ? 0 : messageBytes(m)} bytes as too large ` +
          `(${protocolType(error) ?? 'MESSAGE_TOO_LARGE'}). Fix: raise the topic's max.message.bytes ` +
          "(and the broker's message.max.bytes) above it",
        { cause: error },
      );
    }
  }
  if (topicMessages.length > 1) {
    for (const t of topicMessages) await sendSplitting(send, [t]);
    return;
  }
  const [only] = topicMessages as [TopicMessages];
  const half = Math.ceil(only.messages.length / 2);
  await sendSplitting(send, [{ topic: only.topic, messages: only.messages.slice(0, half) }]);
  await sendSplitting(send, [{ topic: only.topic, messages: only.messages.slice(half) }]);
}

/**
 * Errors after which an idempotent producer's sequence numbers no longer match the broker's:
 * only a new producer id gets past them.
 */
export function lostSequence(error: unknown): boolean {
  const type = protocolType(error);
  return (
    type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' ||
    type === 'UNKNOWN_PRODUCER_ID' ||
    type === 'INVALID_PRODUCER_EPOCH'
  );
}

function isTooLarge(error: unknown): boolean {
  const type = protocolType(error);
  return type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE';
}

type KafkaMessage = TopicMessages['messages'][number];

/** Bytes of a message's key, value and headers (the record framing adds a few dozen). */
function messageBytes(m: KafkaMessage): number {
  const size = (v: unknown): number =>
    v === null || v === undefined
      ? 0
      : Buffer.isBuffer(v)
        ? v.length
        : Buffer.byteLength(String(v));
  let bytes = size(m.key) + size(m.value);
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value])
      bytes += Buffer.byteLength(name) + size(v);
  }
  return bytes;
}

/** Room for the record batch and record framing around one message. */
const FRAMING_BYTES = 512;

/**
 * A dead letter: the original key, value and headers, with streamclust's reason and source
 * coordinates as headers. A value that would not fit the dead-letter topic's limit is cut to
 * fit and marked, so the dead letter is still written; its coordinates name the whole record.
 */
function deadLetterMessage(d: WrittenDeadLetter, limitBytes: number): KafkaMessage {
  const headers: NonNullable<KafkaMessage['headers']> = {
    ...(d.record.headers ?? {}),
    'streamclust.reason': d.reason,
    'streamclust.error': d.message,
    'streamclust.source.topic': d.record.topic,
    'streamclust.source.partition': String(d.record.partition),
    'streamclust.source.offset': d.record.offset,
  };
  const message: KafkaMessage = { key: d.record.key, value: d.record.value, headers };
  const value = d.record.value;
  const over = messageBytes(message) + FRAMING_BYTES + 128 - limitBytes;
  if (value === null || over <= 0) return message;
  return {
    key: d.record.key,
    value: value.subarray(0, Math.max(0, value.length - over)),
    headers: {
      ...headers,
      'streamclust.truncated': 'true',
      'streamclust.original.bytes': String(value.length),
    },
  };
}

/**
 * In one admin session: creates the missing output topics (kafka.createTopics), then reads the
 * dead-letter topic's max.message.bytes (the broker default when it cannot be read).
 */
async function prepareTopics(
  kafka: Kafka,
  config: Config['kafka'],
  logger: Logger,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (config.createTopics) {
      const topics = [config.assignmentsTopic, config.deadLetterTopic, config.eventsTopic];
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        await admin.createTopics({
          topics: missing.map((topic) => ({
            topic,
            numPartitions: config.topicPartitions,
            replicationFactor: config.topicReplicationFactor,
          })),
          waitForLeaders: true,
        });
        logger.info('created output topics', { topics: missing.join(',') });
      }
    }
    return await messageLimit(admin, config.deadLetterTopic, logger);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The topic's max.message.bytes as the broker reports it; the broker default when unknown. */
async function messageLimit(admin: Admin, topic: string, logger: Logger): Promise<number> {
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: topic,
          configNames: ['max.message.bytes'],
        },
      ],
    });
    const value = Number(resources[0]?.configEntries[0]?.configValue);
    if (Number.isFinite(value) && value > 0) return value;
  } catch (error) {
    logger.debug('could not read max.message.bytes of the dead-letter topic', {
      topic,
      error: String(error),
    });
  }
  return BROKER_DEFAULT_MESSAGE_BYTES;
}

/** Kafka's default message.max.bytes (1 MiB plus record batch overhead). */
const BROKER_DEFAULT_MESSAGE_BYTES = 1_048_588;

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
