// What integration tests use to talk to the broker the global setup provides
// (test/setup/kafka-global-setup.ts). Every helper releases the clients it creates.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type IHeaders,
  type KafkaConfig,
  type Message,
  type RecordMetadata,
} from 'kafkajs';
import { inject } from 'vitest';

import { describeWithComponent } from './real-component.js';

export interface ProducedRecord {
  key?: string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: Record<string, string>;
}

export interface JsonRecord {
  key?: string;
  value: unknown;
  partition?: number;
  headers?: Record<string, string>;
}

export interface ConsumedRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface ReadAllOptions {
  timeoutMs?: number;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What failed; a function is called at the timeout, so logs it quotes are current then. */
  message?: string | (() => string);
}

/** Bootstrap addresses of the broker under test; empty when there is none. */
export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers')
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
}

/**
 * `describe` for suites that need Kafka. Without a broker the suite is skipped with the reason
 * in its name on a developer's machine, and fails when CI=true, where a missing broker is a
 * broken pipeline rather than a missing tool.
 */
export function describeWithKafka(name: string, fn: () => void): void {
  const reason =
    kafkaBrokers().length > 0
      ? undefined
      : inject('kafkaUnavailableReason') || 'no Kafka broker was provided';
  describeWithComponent('a Kafka broker', reason, name, fn);
}

let nameCounter = 0;

/** A topic or group name no other test (or earlier run against the same broker) uses. */
export function uniqueName(prefix: string): string {
  // Topic names allow only [a-zA-Z0-9._-] and at most 249 characters.
  const safePrefix = prefix.replace(/[^a-zA-Z0-9._-]/g, '-').slice(0, 180);
  nameCounter += 1;
  const stamp = `${Date.now().toString(36)}-${process.pid}-${nameCounter}`;
  return `${safePrefix}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * A kafkajs client for the broker under test. It logs nothing: expected connection errors
 * (broker restarts, coordinator loading) would drown test output. Set KAFKAJS_LOG_LEVEL=debug
 * to see them, kafkajs honours that variable over this setting.
 */
export function createKafka(clientId?: string, config: Partial<KafkaConfig> = {}): Kafka {
  return new KafkaHelpers(kafkaBrokers()).createKafka(clientId, config);
}

/** Creates a topic and returns once every partition has a leader; an existing name throws. */
export function createTopic(
  name: string,
  partitions = 1,
  config?: Record<string, string>,
): Promise<void> {
  return new KafkaHelpers(kafkaBrokers()).createTopic(name, partitions, config);
}

/** Produces the records with acks from all in-sync replicas and returns their metadata. */
export function produceRaw(topic: string, messages: ProducedRecord[]): Promise<RecordMetadata[]> {
  return new KafkaHelpers(kafkaBrokers()).produceRaw(topic, messages);
}

/** Produces each value as UTF-8 JSON. */
export function produceJson(topic: string, messages: JsonRecord[]): Promise<RecordMetadata[]> {
  return new KafkaHelpers(kafkaBrokers()).produceJson(topic, messages);
}

/** High watermark (for read-committed readers: last stable offset) of every partition. */
export function endOffsets(topic: string): Promise<Map<number, string>> {
  return new KafkaHelpers(kafkaBrokers()).endOffsets(topic);
}

/** Offsets the group committed on the topic; partitions without a commit are absent. */
export function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
  return new KafkaHelpers(kafkaBrokers()).committedOffsets(groupId, topic);
}

/** Every record of the topic below the end offsets seen at call time; see KafkaHelpers. */
export function readAll(topic: string, options: ReadAllOptions = {}): Promise<ConsumedRecord[]> {
  return new KafkaHelpers(kafkaBrokers()).readAll(topic, options);
}

/**
 * The same helpers bound to any broker, e.g. a KafkaBroker a fault test starts for itself:
 * `const kafka = new KafkaHelpers(broker.brokers)`.
 */
export class KafkaHelpers {
  readonly brokers: string[];

  constructor(brokers: string | readonly string[]) {
    this.brokers = typeof brokers === 'string' ? brokers.split(',') : [...brokers];
    if (this.brokers.length === 0) throw new Error('KafkaHelpers: no broker addresses given');
  }

  createKafka(clientId?: string, config: Partial<KafkaConfig> = {}): Kafka {
    return new Kafka({
      clientId: clientId ?? uniqueName('streamclust-test'),
      brokers: this.brokers,
      logLevel: logLevel.NOTHING,
      ...config,
    });
  }

  async createTopic(name: string, partitions = 1, config?: Record<string, string>): Promise<void> {
    const configEntries = Object.entries(config ?? {}).map(([key, value]) => ({
      name: key,
      value,
    }));
    const created = await this.withAdmin((admin) =>
      admin.createTopics({
        topics: [{ topic: name, numPartitions: partitions, configEntries }],
        waitForLeaders: true,
      }),
    );
    if (!created) {
      throw new Error(`createTopic: topic ${name} already exists (use uniqueName() per test)`);
    }
  }

  async produceRaw(topic: string, messages: ProducedRecord[]): Promise<RecordMetadata[]> {
    const producer = this.createKafka('streamclust-test-producer').producer({
      // A typo in a topic name should fail the test, not create a one-partition topic.
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    try {
      return await producer.send({ topic, acks: -1, messages: messages.map(toKafkaMessage) });
    } finally {
      await producer.disconnect();
    }
  }

  async produceJson(topic: string, messages: JsonRecord[]): Promise<RecordMetadata[]> {
    return this.produceRaw(
      topic,
      messages.map(({ value, ...rest }) => {
        const json = JSON.stringify(value) as string | undefined;
        if (json === undefined) {
          throw new TypeError(`produceJson: ${inspect(value)} has no JSON representation`);
        }
        return { ...rest, value: json };
      }),
    );
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const offsets = await this.withAdmin((admin) => admin.fetchTopicOffsets(topic));
    return new Map(offsets.map(({ partition, high }) => [partition, high]));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const [result] = await this.withAdmin((admin) =>
      admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    const committed = new Map<number, string>();
    for (const { partition, offset } of result?.partitions ?? []) {
      if (offset !== '-1') committed.set(partition, offset);
    }
    return committed;
  }

  /** The group's state ('Stable', 'PreparingRebalance', 'Empty', ...) and how many members it has. */
  async groupMembers(groupId: string): Promise<{ state: string; members: number }> {
    const { groups } = await this.withAdmin((admin) => admin.describeGroups([groupId]));
    const group = groups[0];
    return { state: group?.state ?? 'Unknown', members: group?.members.length ?? 0 };
  }

  /**
   * Every record of the topic below the end offsets seen when it was called, sorted by
   * partition and offset. kafkajs cannot assign partitions without a group, so it joins a fresh
   * group that commits nothing.
   */
  async readAll(topic: string, options: ReadAllOptions = {}): Promise<ConsumedRecord[]> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const offsets = await this.withAdmin((admin) => admin.fetchTopicOffsets(topic));
    const ends = new Map(offsets.map(({ partition, high }) => [partition, BigInt(high)]));
    // Partition → last offset seen so far; partitions whose low and high watermarks meet hold
    // nothing to wait for.
    const pending = new Map(
      offsets.filter(({ low, high }) => BigInt(high) > BigInt(low)).map((o) => [o.partition, '']),
    );
    const records: ConsumedRecord[] = [];
    if (pending.size === 0) return records;

    const consumer = this.createKafka('streamclust-test-read-all').consumer({
      groupId: uniqueName('streamclust-read-all'),
      maxWaitTimeInMs: 250,
    });
    let finish = (): void => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    // END_BATCH_PROCESS also fires for batches that hold only transaction markers or aborted
    // records, whose offsets never reach eachBatch; it is how the last offset is seen to pass.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic || !pending.has(payload.partition)) return;
      const end = ends.get(payload.partition) ?? 0n;
      if (BigInt(payload.lastOffset) >= end - 1n) pending.delete(payload.partition);
      else pending.set(payload.partition, payload.lastOffset);
      if (pending.size === 0) finish();
    });

    // kafkajs restarts a crashed consumer by itself; the crash only matters if the read stalls.
    let lastCrash: unknown;
    consumer.on(consumer.events.CRASH, ({ payload }) => (lastCrash = payload.error));

    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition) ?? 0n;
          for (const message of batch.messages) {
            if (BigInt(message.offset) >= end) break;
            records.push({
              partition: batch.partition,
              offset: message.offset,
              key: message.key === null ? null : message.key.toString('utf8'),
              value: message.value,
              headers: headersToStrings(message.headers),
              timestamp: message.timestamp,
            });
          }
        },
      });
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      if ((await Promise.race([finished, timedOut])) === 'timeout') {
        const behind = [...pending].map(([partition, last]) => {
          return `partition ${partition} at ${last || 'nothing'} of end ${ends.get(partition)}`;
        });
        const crash =
          lastCrash === undefined ? '' : `; the consumer crashed: ${inspect(lastCrash)}`;
        throw new Error(
          `readAll(${topic}): not at the end offsets after ${timeoutMs} ms: ` +
            `${behind.join(', ')}${crash}`,
          { cause: lastCrash },
        );
      }
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
    }
    return records.sort((a, b) => a.partition - b.partition || compareOffsets(a.offset, b.offset));
  }

  private async withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.createKafka('streamclust-test-admin').admin();
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await admin.disconnect();
    }
  }
}

function toKafkaMessage(record: ProducedRecord): Message {
  const message: Message = { value: record.value };
  if (record.key !== undefined) message.key = record.key;
  if (record.partition !== undefined) message.partition = record.partition;
  if (record.headers !== undefined) message.headers = record.headers;
  return message;
}

function compareOffsets(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    // A repeated header arrives as an array; the last value wins, as in most HTTP-like maps.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) result[name] = last.toString();
  }
  return result;
}

/**
 * Polls `probe` until it returns something other than `undefined` or `false`, and returns that.
 * A probe that throws counts as "not yet"; on timeout the error names the last value returned
 * and the last error thrown, which together usually explain the failure.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastValue = value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const parts = [
        `${(typeof options.message === 'function' ? options.message() : options.message) ?? 'waitFor: condition not met'} (after ${timeoutMs} ms)`,
        `last value: ${inspect(lastValue, { depth: 4 })}`,
      ];
      if (lastError !== undefined) parts.push(`last error: ${inspect(lastError)}`);
      throw new Error(parts.join('; '), { cause: lastError });
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
