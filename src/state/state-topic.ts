/**
 * The group's state topic: a compacted, single-partition Kafka topic that every instance of a
 * consumer group reads from the beginning and writes to (sync.enabled). Compaction keeps the
 * latest value of each key, which is all the state there is: `global` (the leader's whole state:
 * store, decoder statistics, network weights) and `delta/<instance>` (what one instance's
 * records added since the leader last folded them in). Kafka Streams keeps its state stores in
 * changelog topics the same way; there is no other database.
 *
 * Every instance reads with a consumer group of its own (kafkajs can only consume through a
 * group), never commits, and starts from the earliest offset, so a new or restarted instance
 * reads the latest state before it processes a record (`caughtUp`).
 */
import { randomUUID } from 'node:crypto';

import { Kafka, type Consumer, type Producer } from 'kafkajs';

import type { Config } from '../config/schema.js';
import { kafkaClientConfig } from '../kafka/client.js';
import type { Logger } from '../log.js';

export interface StateMessage {
  key: string;
  value: Buffer | null;
  offset: number;
}

export interface StateTopicOptions {
  topic: string;
  maxMessageBytes: number;
  createTopic: boolean;
  onMessage: (message: StateMessage) => void;
}

export class StateTopic {
  private constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    readonly topic: string,
    private readonly reached: Promise<void>,
  ) {}

  static async open(
    kafkaConfig: Config['kafka'],
    logger: Logger,
    options: StateTopicOptions,
  ): Promise<StateTopic> {
    const kafka = new Kafka(kafkaClientConfig(kafkaConfig, logger));
    const admin = kafka.admin();
    await admin.connect();
    let end: number;
    try {
      const existing = new Set(await admin.listTopics());
      if (!existing.has(options.topic)) {
        if (!options.createTopic) {
          throw new Error(
            `the state topic ${options.topic} does not exist: create it (one partition, cleanup.policy=compact), or set sync.createTopic: true`,
          );
        }
        await admin
          .createTopics({
            topics: [
              {
                topic: options.topic,
                numPartitions: 1,
                replicationFactor: kafkaConfig.topicReplicationFactor,
                configEntries: [
                  { name: 'cleanup.policy', value: 'compact' },
                  { name: 'max.message.bytes', value: String(options.maxMessageBytes) },
                ],
              },
            ],
            waitForLeaders: true,
          })
          // Another instance may have created it at the same moment.
          .catch((error: unknown) => {
            if (!/already exists/i.test(String(error))) throw error;
          });
        logger.info('created the state topic', { topic: options.topic });
      }
      const offsets = await admin.fetchTopicOffsets(options.topic);
      end = Number(offsets.find((o) => o.partition === 0)?.high ?? 0);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const consumer = kafka.consumer({
      groupId: `${options.topic}.reader.${randomUUID()}`,
      maxBytesPerPartition: options.maxMessageBytes,
      maxBytes: options.maxMessageBytes * 2,
      maxWaitTimeInMs: 100,
    });
    let markReached: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (markReached = resolve));
    if (end === 0) markReached();
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const offset = Number(message.offset);
        options.onMessage({
          key: message.key?.toString() ?? '',
          value: message.value,
          offset,
        });
        if (offset + 1 >= end) markReached();
      },
    });
    return new StateTopic(producer, consumer, options.topic, reached);
  }

  /** Resolves once every message that was on the topic when it was opened has been read. */
  caughtUp(): Promise<void> {
    return this.reached;
  }

  /** Publishes one value under `key`; resolves when the broker acknowledged it (acks all). */
  async publish(key: string, value: Buffer): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key, value }] });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.consumer.disconnect(), this.producer.disconnect()]);
  }
}
