/**
 * Consumes the input topic with a kafkajs consumer group. Each `eachBatch` call (one partition's
 * fetch) becomes one chunk; the handler waits until the pipeline has written every record of
 * the chunk to the sinks and the broker acknowledged them, and only then commits the offset after
 * the chunk's last record. Kafka itself is the backpressure: at most
 * `partitionsConsumedConcurrently` chunks are in flight, and nothing is committed early, so a
 * crash anywhere replays from the last commit (at-least-once).
 */
import { Kafka, type Consumer, type EachBatchPayload, type KafkaConfig } from 'kafkajs';
import { Observable, Subject } from 'rxjs';

import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { kafkaLogCreator } from './kafka-log.js';
import { kafkaSecurity } from './kafka-security.js';
import type { SourceOffset } from '../sinks/checkpoint.js';
import { RecordChunk, type Source } from './source.js';

export function kafkaClientConfig(config: Config['kafka'], logger: Logger): KafkaConfig {
  return {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs,
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 300, retries: 8 },
    ...kafkaSecurity(config),
  };
}

export function createKafkaSource(
  config: Config['kafka'],
  logger: Logger,
  /** Resume: read these partitions from these offsets (a checkpoint's), not the committed ones. */
  resumeAt: readonly SourceOffset[] = [],
): Source {
  const kafka = new Kafka(kafkaClientConfig(config, logger));
  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: config.heartbeatIntervalMs,
  });
  const chunks = new Subject<RecordChunk>();
  let connected = false;
  let crashed = false;
  let stopping = false;
  const seekPending = new Map(
    resumeAt.filter((o) => o.topic === config.inputTopic).map((o) => [o.partition, o.offset]),
  );
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // The state (model, store) covers records before the checkpoint's offsets: read from there,
    // even where the group committed further, so the state sees every record once.
    for (const partition of payload.memberAssignment[config.inputTopic] ?? []) {
      const offset = seekPending.get(partition);
      if (offset === undefined) continue;
      seekPending.delete(partition);
      consumer.seek({ topic: config.inputTopic, partition, offset });
      logger.info('seeking to the checkpoint offset', {
        topic: config.inputTopic,
        partition,
        offset,
      });
    }
  });
  // Readiness: kafkajs reports a lost broker only after its retries run out (tens of seconds),
  // so the source also counts as unhealthy when it has not heard from the broker (a fetch or a
  // heartbeat) for three heartbeat intervals, or when a heartbeat failed since the last contact.
  let lastContact = Date.now();
  let heartbeatFailed = false;
  const contact = (): void => {
    lastContact = Date.now();
    heartbeatFailed = false;
  };
  consumer.on(consumer.events.FETCH, contact);
  consumer.on(consumer.events.HEARTBEAT, contact);
  consumer.on(consumer.events.GROUP_JOIN, contact);
  consumer.on(consumer.events.CONNECT, () => (connected = true));
  consumer.on(consumer.events.DISCONNECT, () => (connected = false));
  consumer.on(consumer.events.CRASH, (event) => {
    crashed = true;
    logger.error('kafka consumer crashed', {
      error: String(event.payload.error),
      restart: event.payload.restart,
    });
    if (event.payload.restart) crashed = false;
    else chunks.error(event.payload.error);
  });

  const eachBatch = async ({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload): Promise<void> => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const chunk = new RecordChunk();
    for (const message of batch.messages) {
      chunk.add({
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        timestamp: Number(message.timestamp),
      });
    }
    chunks.next(chunk);
    await waitWithHeartbeats(chunk.done, heartbeat, () => (heartbeatFailed = true));
    // Without resolving, kafkajs would fetch the same offsets again on the next round.
    resolveOffset(batch.lastOffset());
    // Exactly-once: the sink committed these offsets inside its transactions already.
    if (config.delivery === 'exactly-once') return;
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    try {
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: next },
      ]);
    } catch (error) {
      // The records were written; a failed commit (e.g. during a rebalance) means they will be
      // delivered again to whoever owns the partition next: duplicates, never a loss.
      logger.warn('offset commit failed; the batch will be redelivered', {
        topic: batch.topic,
        partition: batch.partition,
        offset: next,
        error: String(error),
      });
    }
  };

  const start = async (): Promise<void> => {
    await consumer.connect();
    await consumer.subscribe({ topic: config.inputTopic, fromBeginning: config.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      eachBatch,
    });
    logger.info('consuming', {
      topic: config.inputTopic,
      group: config.groupId,
      brokers: config.brokers.join(','),
    });
  };

  const observable = new Observable<RecordChunk>((subscriber) => {
    const subscription = chunks.subscribe(subscriber);
    start().catch((error: unknown) => subscriber.error(error));
    return () => subscription.unsubscribe();
  });

  return {
    kind: 'kafka',
    chunks: observable,
    async stop() {
      if (stopping) return;
      stopping = true;
      // stop() returns once the running eachBatch handlers finished, i.e. after their chunks
      // were written and committed; the pipeline keeps running meanwhile.
      await consumer.stop();
      chunks.complete();
    },
    async close() {
      await consumer.disconnect();
    },
    healthy: () =>
      connected &&
      !crashed &&
      !heartbeatFailed &&
      Date.now() - lastContact < Math.max(3 * config.heartbeatIntervalMs, 10_000),
  };
}

async function waitWithHeartbeats(
  done: Promise<void>,
  heartbeat: () => Promise<void>,
  failed: () => void,
): Promise<void> {
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    if (!finished) await heartbeat().catch(failed);
  }
}
