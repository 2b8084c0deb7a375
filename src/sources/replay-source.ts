/**
 * Replay: reads a fixed range of a topic (or any bounded source) once or several times in a row,
 * for offline evaluation.
 *
 * A Kafka pass reads each partition from its start offset to its end offset (exclusive) with a
 * consumer of a fresh, throwaway group that never commits: `autoCommit: false`, no
 * `commitOffsets`, and seeks that kafkajs keeps local when auto-commit is off. (kafkajs cannot
 * assign partitions without a group, so a group it is, but one nobody else uses.) Each fetched
 * batch is one chunk and the handler waits until the pipeline settled it, as the live source
 * does, so the broker stays the backpressure. The pass completes once every partition has been
 * read to its end; the offsets were resolved once, before the first pass, so every pass reads
 * the same records even while producers keep writing.
 */
import { Kafka, type Admin, type Consumer } from 'kafkajs';
import { concat, defer, Observable, Subject } from 'rxjs';

import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { kafkaClientConfig } from '../kafka/client.js';
import { RecordChunk, type Source, type SourceRecord } from './source.js';

/** `--from` / `--to`: an offset for every partition, offsets per partition, or a time. */
export type RangeBound =
  | { kind: 'offset'; offset: bigint }
  | { kind: 'partitions'; offsets: Map<number, bigint> }
  | { kind: 'time'; ms: number; text: string };

export interface PartitionRange {
  partition: number;
  /** First offset read. */
  start: string;
  /** First offset not read. */
  end: string;
}

export function parseRangeBound(flag: '--from' | '--to', text: string): RangeBound {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { kind: 'offset', offset: BigInt(trimmed) };
  if (/^\d+:\d+(,\d+:\d+)*$/.test(trimmed)) {
    const offsets = new Map<number, bigint>();
    for (const pair of trimmed.split(',')) {
      const [partition, offset] = pair.split(':');
      offsets.set(Number(partition), BigInt(offset as string));
    }
    return { kind: 'partitions', offsets };
  }
  const ms = Date.parse(trimmed);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed) && Number.isFinite(ms)) {
    return { kind: 'time', ms, text: trimmed };
  }
  throw new ConfigError([
    {
      key: flag,
      value: JSON.stringify(text),
      rule: 'must be an offset, partition:offset pairs, or an ISO 8601 time',
      fix: `e.g. ${flag} 0, ${flag} 0:120,1:95, or ${flag} 2025-01-31T12:00:00Z`,
    },
  ]);
}

/**
 * The half-open offset range of every partition: a time resolves to the first offset whose
 * timestamp is at or after it (the end offset when there is none); offsets are clamped to what
 * the log holds; without `from` it starts at the earliest offset, without `to` it ends at the
 * end offsets of now.
 */
export async function resolveRange(
  admin: Admin,
  topic: string,
  from: RangeBound | undefined,
  to: RangeBound | undefined,
): Promise<PartitionRange[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const resolve = async (bound: RangeBound | undefined, fallback: 'low' | 'high') => {
    const result = new Map<number, bigint>();
    const byTime =
      bound?.kind === 'time'
        ? new Map(
            (await admin.fetchTopicOffsetsByTimestamp(topic, bound.ms)).map((o) => [
              o.partition,
              BigInt(o.offset),
            ]),
          )
        : undefined;
    for (const o of offsets) {
      const low = BigInt(o.low);
      const high = BigInt(o.high);
      let value = fallback === 'low' ? low : high;
      if (bound?.kind === 'offset') value = bound.offset;
      if (bound?.kind === 'partitions') value = bound.offsets.get(o.partition) ?? value;
      if (byTime !== undefined) value = byTime.get(o.partition) ?? high;
      result.set(o.partition, value < low ? low : value > high ? high : value);
    }
    return result;
  };
  const starts = await resolve(from, 'low');
  const ends = await resolve(to, 'high');
  return offsets
    .map((o) => {
      const end = ends.get(o.partition) as bigint;
      const start = starts.get(o.partition) as bigint;
      return {
        partition: o.partition,
        start: (start > end ? end : start).toString(),
        end: end.toString(),
      };
    })
    .sort((a, b) => a.partition - b.partition);
}

export function rangeSize(range: readonly PartitionRange[]): number {
  return range.reduce((sum, p) => sum + Number(BigInt(p.end) - BigInt(p.start)), 0);
}

export interface KafkaRangeOptions {
  kafka: Config['kafka'];
  topic: string;
  range: readonly PartitionRange[];
  logger: Logger;
  /** The throwaway group of this pass (each pass gets its own, so none resumes another). */
  groupId: string;
}

/** One pass over the range: a bounded Source that completes at the range end. */
export function createKafkaRangeSource(options: KafkaRangeOptions): Source {
  const { topic, range, logger } = options;
  const kafka = new Kafka(kafkaClientConfig(options.kafka, logger));
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.kafka.sessionTimeoutMs,
    heartbeatInterval: options.kafka.heartbeatIntervalMs,
    maxWaitTimeInMs: 250,
  });
  const bounds = new Map(
    range.map((p) => [p.partition, { start: BigInt(p.start), end: BigInt(p.end) }]),
  );
  const pending = new Set(
    range.filter((p) => BigInt(p.end) > BigInt(p.start)).map((p) => p.partition),
  );
  const next = new Map(range.map((p) => [p.partition, BigInt(p.start)]));
  const chunks = new Subject<RecordChunk>();
  let connected = false;
  let ended = false;

  const end = (): void => {
    if (ended) return;
    ended = true;
    // Stopping from inside kafkajs' own callbacks would wait on itself: leave them first.
    setImmediate(() => {
      consumer
        .stop()
        .catch(() => undefined)
        .finally(() => chunks.complete());
    });
  };
  const reached = (partition: number, lastOffset: string): void => {
    const bound = bounds.get(partition);
    if (bound === undefined || !pending.has(partition)) return;
    if (BigInt(lastOffset) < bound.end - 1n) return;
    pending.delete(partition);
    consumer.pause([{ topic, partitions: [partition] }]);
    if (pending.size === 0) end();
  };
  consumer.on(consumer.events.CONNECT, () => (connected = true));
  consumer.on(consumer.events.DISCONNECT, () => (connected = false));
  // Batches of transaction markers or compacted-away offsets never reach eachBatch; this event
  // still shows their last offset passing the end.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic) reached(payload.partition, payload.lastOffset);
  });
  // The group has no committed offsets, so every join (the first, or one after kafkajs restarted
  // a crashed consumer) would start at the earliest offset: move each partition to where this
  // pass is. A seek before the join would be lost with the consumer group kafkajs recreates.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const partition of pending) {
      const offset = next.get(partition);
      if (offset !== undefined) consumer.seek({ topic, partition, offset: offset.toString() });
    }
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) chunks.error(payload.error);
  });

  const start = async (): Promise<void> => {
    if (pending.size === 0) {
      end();
      return;
    }
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.kafka.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, heartbeat, isRunning }) => {
        const bound = bounds.get(batch.partition);
        if (bound === undefined || !isRunning() || !pending.has(batch.partition)) return;
        const chunk = new RecordChunk();
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          // Below `next`: already delivered before a rejoin moved the fetch position back.
          if (offset < (next.get(batch.partition) ?? bound.start) || offset >= bound.end) continue;
          next.set(batch.partition, offset + 1n);
          chunk.add({
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: Number(message.timestamp),
          });
        }
        if (chunk.records.length === 0) return;
        chunks.next(chunk);
        await settledWithHeartbeats(chunk.done, heartbeat);
      },
    });
  };

  return {
    kind: 'kafka',
    chunks: new Observable<RecordChunk>((subscriber) => {
      const subscription = chunks.subscribe(subscriber);
      start().catch((error: unknown) => subscriber.error(error));
      return () => subscription.unsubscribe();
    }),
    stop: async () => end(),
    close: () => consumer.disconnect(),
    healthy: () => connected || ended,
  };
}

async function settledWithHeartbeats(
  done: Promise<void>,
  heartbeat: () => Promise<void>,
): Promise<void> {
  let settled = false;
  void done.then(() => (settled = true));
  while (!settled) {
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    if (!settled) await heartbeat().catch(() => undefined);
  }
}

/** A bounded Source read `passes` times in a row, and which pass each record came from. */
export interface ReplaySource extends Source {
  readonly passes: number;
  passOf(record: SourceRecord): number;
}

/**
 * Chains `passes` fresh sources from `openPass` (1-based): the next opens only when the one
 * before completed. Chunks remember their pass, so a micro-batch that straddles two passes is
 * still split correctly by the evaluator.
 */
export function replayPasses(
  kind: Source['kind'],
  passes: number,
  openPass: (pass: number) => Source,
): ReplaySource {
  if (!Number.isInteger(passes) || passes < 1) {
    throw new RangeError(`passes must be a positive integer; got ${passes}`);
  }
  const passOfChunk = new WeakMap<RecordChunk, number>();
  const opened: Source[] = [];
  let stopped = false;
  const pass = (n: number): Observable<RecordChunk> =>
    defer(() => {
      if (stopped) return [];
      const source = openPass(n);
      opened.push(source);
      return new Observable<RecordChunk>((subscriber) =>
        source.chunks.subscribe({
          next: (chunk) => {
            passOfChunk.set(chunk, n);
            subscriber.next(chunk);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            // Release this pass's connections before the next pass opens its own.
            source.close().then(
              () => subscriber.complete(),
              (error: unknown) => subscriber.error(error),
            );
          },
        }),
      );
    });
  return {
    kind,
    passes,
    chunks: concat(...Array.from({ length: passes }, (_, i) => pass(i + 1))),
    passOf: (record) => passOfChunk.get(record.chunk) ?? 1,
    stop: async () => {
      stopped = true;
      await opened.at(-1)?.stop();
    },
    close: async () => {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
    },
    healthy: () => opened.at(-1)?.healthy() ?? true,
  };
}
