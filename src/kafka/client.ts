/**
 * Every kafkajs client streamclust makes is configured here: the consumer of the input, the
 * producer of the outputs, the admin clients of the commands, the lag monitor. They share the
 * brokers, the security settings, the codecs (snappy, lz4, zstd) and the routing of kafkajs'
 * own log lines.
 */
import { Kafka, type KafkaConfig } from 'kafkajs';

import { closest } from '../config/closest.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { registerKafkaCodecs } from './codecs.js';
import { kafkaLogCreator } from './log.js';
import { kafkaSecurity } from './security.js';

export function kafkaClientConfig(config: Config['kafka'], logger: Logger): KafkaConfig {
  // Every client is built here, so every one can read and write snappy, lz4 and zstd.
  registerKafkaCodecs();
  return {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs,
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 300, retries: 8 },
    ...kafkaSecurity(config),
  };
}

/**
 * The client of a command's first contact with the brokers (produce, replay): it gives up after
 * two quick retries (about a second), so that a wrong broker is said at once instead of after
 * the eight retries, close to a minute, that a long-running pipeline rides out. Its retries'
 * errors are debug: the command's one-line message says what failed.
 */
export function firstContactClientConfig(config: Config['kafka'], logger: Logger): KafkaConfig {
  return {
    ...kafkaClientConfig(config, logger),
    logCreator: kafkaLogCreator(logger, { errorsAs: 'debug' }),
    retry: { initialRetryTime: 300, retries: 2 },
  };
}

/**
 * Whether the input topic exists, asked once at start so that a misspelt name is said at once
 * rather than when kafka.missingTopicTimeoutMs runs out: undefined when it exists, else the
 * line to log (the brokers asked, and the nearest existing name when one is near enough).
 */
export async function missingInputTopic(
  config: Config['kafka'],
  logger: Logger,
): Promise<string | undefined> {
  const admin = new Kafka(kafkaClientConfig(config, logger)).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
    if (topics.includes(config.inputTopic)) return undefined;
    const near = closest(config.inputTopic, topics);
    return (
      `the input topic ${config.inputTopic} does not exist on the brokers ${config.brokers.join(',')}; ` +
      `waiting for it up to kafka.missingTopicTimeoutMs (${config.missingTopicTimeoutMs} ms). Fix: ` +
      (near === undefined
        ? 'create it, or point kafka.inputTopic (--topic) at the right one'
        : `did you mean ${near}? (kafka.inputTopic, --topic)`)
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
