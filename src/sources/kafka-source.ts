/**
 * Consumes the input topic with a kafkajs consumer group. Each `eachBatch` call (one partition's
 * fetch) becomes one chunk. The offset after the chunk's last record is committed only once the
 * pipeline has written every record of the chunk to the sinks and the broker acknowledged them,
 * so a crash anywhere replays from the last commit (at-least-once).
 *
 * kafkajs fetches again only when every handler of its last fetch has returned. A handler that
 * waits for its records to be written leaves the pipeline without input for a whole fetch
 * round trip per batch: with the outputs written on their own thread, that wait, not the main
 * thread, bounds the rate. With at-least-once and `kafka.readAheadRecords` above 0 (the
 * default is 4096) a handler returns as soon as its chunk is in the pipeline and
 * at most that many records are unwritten (read ahead), and the commit follows when the chunk
 * settles; commits move forward only, coalesced into one request in flight. `stop()` waits for
 * those commits, and for a group join in flight, before the consumer leaves its group.
 * Exactly-once always waits,
 * since its offsets are committed inside the outputs' transactions, which must not outlive the
 * partition's ownership. A handler also returns at once, and its offset is committed once its
 * records settle, when the centroid store waits for k records with fewer in hand
 * (`RecordChunk.released`): it needs the next fetch to settle them.
 */
import { Kafka, type Consumer, type EachBatchPayload } from 'kafkajs';
import { Observable, Subject } from 'rxjs';

import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { kafkaClientConfig } from '../kafka/client.js';
import type { SourceOffset } from '../state/checkpoint.js';
import { RecordChunk, type Source } from './source.js';
import { unreadableBatchReporter } from './unreadable-batch.js';

export function createKafkaSource(
  config: Config['kafka'],
  logger: Logger,
  /** Resume: read these partitions from these offsets (a checkpoint's), not the committed ones. */
  resumeAt: readonly SourceOffset[] = [],
  /**
   * Told the input partitions this member holds after every join, and null when the group
   * starts rebalancing or the consumer stops (a consumer group's leader, group-sync.ts).
   */
  onAssignment?: (partitions: number[] | null) => void,
): Source {
  const kafka = new Kafka(kafkaClientConfig(config, logger));
  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: config.heartbeatIntervalMs,
    metadataMaxAge: config.metadataMaxAgeMs,
    // A misspelt or deleted input topic is reported (/readyz, kafka.missingTopicTimeoutMs), not
    // created empty by the consumer's metadata requests.
    allowAutoTopicCreation: false,
    // kafkajs restarts a crashed consumer on a timer that its stop() does not cancel: a crash
    // while stopping (a join still in flight when the connections close) would bring back a
    // member with no pipeline behind it, which keeps its partitions and never commits them.
    // retries: kafkajs' own default for consumers, which an explicit retry would replace.
    retry: { retries: 5, restartOnFailure: () => Promise.resolve(!stopping) },
  });
  const chunks = new Subject<RecordChunk>();
  // close() ends every wait for a pipeline that will not settle its records any more: handlers
  // still waiting then give up on them, so that a pipeline stopped by an error does not hold the
  // disconnect (which waits for the handlers). Each wait takes a promise of its own, dropped when
  // it ends: one long-lived promise raced per fetch would keep a reaction per fetch until the
  // end (measured: the soak bench's heap grew from 26 to 93 MiB over 10^6 records, and the major
  // GCs, which pause the pipeline, from 70 to 230 ms).
  let closed = false;
  const closers = new Set<() => void>();
  const close = (): void => {
    closed = true;
    for (const fire of closers) fire();
    closers.clear();
  };
  const closingSignal = (): { promise: Promise<'closing'>; dispose: () => void } => {
    let fire!: () => void;
    const promise = new Promise<'closing'>((resolve) => (fire = () => resolve('closing')));
    if (closed) fire();
    else closers.add(fire);
    return { promise, dispose: () => closers.delete(fire) };
  };
  let connected = false;
  let crashed = false;
  let stopping = false;
  // Set while the consumer joins its group (run(), or kafkajs' restart after a crash) until the
  // GROUP_JOIN or a crash: kafkajs' stop() does not stop a join in flight, see stop().
  let join: { ended: Promise<void>; end: () => void } | undefined;
  const joinStarts = (): void => {
    if (join !== undefined) return;
    let end!: () => void;
    join = { ended: new Promise<void>((resolve) => (end = resolve)), end };
  };
  const joinEnds = (): void => {
    join?.end();
    join = undefined;
  };
  // Read ahead: records in the pipeline and not yet written, chunks the store holds, handlers
  // waiting for room, and the commits of chunks whose handlers returned ahead of them.
  const readAhead = config.delivery === 'exactly-once' ? 0 : config.readAheadRecords;
  let unsettled = 0;
  let held = 0;
  const waiting = new Set<() => boolean>();
  const aheadCommits = new Set<Promise<void>>();
  const wake = (): void => {
    for (const ready of waiting) if (ready()) waiting.delete(ready);
  };
  /** Resolves once at most readAhead records are unwritten and the store holds no chunk. */
  const room = (): Promise<'ahead'> =>
    new Promise((resolve) => {
      const ready = (): boolean => {
        if (unsettled > readAhead || held > 0) return false;
        resolve('ahead');
        return true;
      };
      if (!ready()) waiting.add(ready);
    });
  const seekPending = new Map(
    resumeAt.filter((o) => o.topic === config.inputTopic).map((o) => [o.partition, o.offset]),
  );
  if (onAssignment !== undefined) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      onAssignment([...(payload.memberAssignment[config.inputTopic] ?? [])]),
    );
    consumer.on(consumer.events.REBALANCING, () => onAssignment(null));
    consumer.on(consumer.events.STOP, () => onAssignment(null));
    consumer.on(consumer.events.CRASH, () => onAssignment(null));
  }
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
  consumer.on(consumer.events.GROUP_JOIN, joinEnds);
  consumer.on(consumer.events.CONNECT, () => (connected = true));
  consumer.on(consumer.events.DISCONNECT, () => (connected = false));
  const reportUnreadable = unreadableBatchReporter(kafka, consumer, config, logger);
  consumer.on(consumer.events.CRASH, (event) => {
    if (stopping) {
      // The records in flight still settle; their commits fail and they are read again by
      // whoever owns the partitions next. No restart (restartOnFailure), no error for the drain.
      joinEnds();
      logger.warn('kafka consumer crashed while stopping; not restarting it', {
        error: String(event.payload.error),
      });
      return;
    }
    crashed = true;
    logger.error('kafka consumer crashed', {
      error: String(event.payload.error),
      restart: event.payload.restart,
    });
    if (event.payload.restart) joinStarts();
    else joinEnds();
    if (event.payload.restart) crashed = false;
    else
      void reportUnreadable(event.payload.error).then((refusal) =>
        chunks.error(refusal ?? event.payload.error),
      );
  });

  const eachBatch = async ({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload): Promise<void> => {
    // Once stopping, nothing new enters the pipeline; unresolved, these offsets are read again.
    if (stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    const chunk = new RecordChunk();
    for (const message of batch.messages) {
      chunk.add({
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        ...(message.headers === undefined ? {} : { headers: message.headers }),
        timestamp: Number(message.timestamp),
      });
    }
    // The counts room() reads; without read-ahead nothing reads them.
    if (readAhead > 0) {
      const size = chunk.records.length;
      let settled = false;
      unsettled += size;
      void chunk.done.then(() => {
        settled = true;
        unsettled -= size;
        wake();
      });
      void chunk.released.then(() => {
        if (settled) return;
        held += 1;
        void chunk.done.then(() => {
          held -= 1;
          wake();
        });
      });
    }
    chunks.next(chunk);
    const released = chunk.released.then(() => 'released' as const);
    const closingNow = closingSignal();
    const outcome = await waitWithHeartbeats(
      Promise.race([
        chunk.done.then(() => 'done' as const),
        released,
        ...(readAhead > 0 ? [room()] : []),
        closingNow.promise,
      ]),
      heartbeat,
      () => (heartbeatFailed = true),
    ).finally(closingNow.dispose);
    // The pipeline stopped without settling these records: leave them uncommitted (read again).
    if (outcome === 'closing') return;
    // Without resolving, kafkajs would fetch the same offsets again on the next round.
    resolveOffset(batch.lastOffset());
    // Exactly-once: the sink committed these offsets inside its transactions already.
    if (config.delivery === 'exactly-once') return;
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    if (outcome === 'done') {
      await commit(batch.topic, batch.partition, next);
      return;
    }
    // Read ahead, or the store holds these records and needs the next fetch to settle them:
    // return so that kafkajs fetches on, and commit once they settle.
    const committed = chunk.done.then(() => commit(batch.topic, batch.partition, next));
    if (outcome === 'ahead') {
      aheadCommits.add(committed);
      void committed.then(() => aheadCommits.delete(committed));
    } else void committed;
  };

  // Commits only move forward: a held chunk that settles after a later one must not take a
  // partition's committed offset back. Only an acknowledged commit counts: a commit that fails
  // in a rebalance while a chunk read again after it is written must still commit that chunk
  // (counting the failed one would skip it, and leave the offset behind for good at the end of
  // the stream). Commits are coalesced: one request at a time carries the latest offset of
  // every partition that moved since, so that reading ahead, where a fetch of a stream that
  // keeps up holds a few records, does not send a commit (a write to __consumer_offsets) per
  // fetch: measured, a commit per fetch put the soak bench's median latency at 744 ms, against
  // 69 ms coalesced.
  const committedUpTo = new Map<number, bigint>();
  // What the broker acknowledged, from kafkajs' own event: its commitOffsets() also resolves,
  // without sending anything, while its consumer is not running (restarting after a crash,
  // the broker away). Counting that as committed would skip the commit of those records when
  // they are read again after the restart, and leave the group's offset behind for good.
  consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
    for (const { topic, partitions } of payload.topics) {
      if (topic !== config.inputTopic) continue;
      for (const { partition, offset } of partitions) {
        const at = BigInt(String(offset));
        if (at > (committedUpTo.get(partition) ?? -1n)) committedUpTo.set(partition, at);
      }
    }
  });
  const wanted = new Map<number, { topic: string; at: bigint; waiters: (() => void)[] }>();
  // Set and cleared in the same synchronous step as the loop's check, so that an offset
  // wanted after the last round always starts a new one.
  let flushing = false;
  const flushCommits = async (): Promise<void> => {
    flushing = true;
    while (wanted.size > 0) {
      const round = [...wanted.entries()];
      wanted.clear();
      const offsets = round.map(([partition, { topic, at }]) => ({
        topic,
        partition,
        offset: at.toString(),
      }));
      try {
        await consumer.commitOffsets(offsets);
        const unsent = round.filter(
          ([partition, { at }]) => at > (committedUpTo.get(partition) ?? -1n),
        );
        if (unsent.length > 0) {
          logger.warn(
            'offset commit not sent: the consumer is not in its group (restarting); the batch will be redelivered',
            {
              topic: config.inputTopic,
              offsets: unsent.map(([partition, { at }]) => `${partition}:${at}`).join(','),
            },
          );
        }
      } catch (error) {
        // The records were written; a failed commit (e.g. during a rebalance) means they will
        // be delivered again to whoever owns the partition next: duplicates, never a loss.
        logger.warn('offset commit failed; the batch will be redelivered', {
          topic: offsets[0]?.topic,
          offsets: offsets.map((o) => `${o.partition}:${o.offset}`).join(','),
          error: String(error),
        });
      }
      for (const [, { waiters }] of round) for (const resolve of waiters) resolve();
    }
    flushing = false;
  };
  /** Resolves once this offset (or a later one) was committed, or its commit failed. */
  const commit = (topic: string, partition: number, offset: string): Promise<void> => {
    const at = BigInt(offset);
    if ((committedUpTo.get(partition) ?? -1n) >= at) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const entry = wanted.get(partition);
      if (entry === undefined) wanted.set(partition, { topic, at, waiters: [resolve] });
      else {
        if (at > entry.at) entry.at = at;
        entry.waiters.push(resolve);
      }
      if (!flushing) void flushCommits();
    });
  };

  const start = async (): Promise<void> => {
    await consumer.connect();
    await consumer.subscribe({ topic: config.inputTopic, fromBeginning: config.fromBeginning });
    if (stopping) return;
    joinStarts();
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

  /** Resolves on the join's end (joined, or crashed), on close(), or after timeoutMs. */
  const settledJoin = async (ended: Promise<void>, timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const closingNow = closingSignal();
    const outcome = await Promise.race([
      ended.then(() => 'settled' as const),
      new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
      ),
      closingNow.promise,
    ]);
    clearTimeout(timer);
    closingNow.dispose();
    if (outcome === 'timeout') {
      logger.warn(
        'stopped while the consumer was still joining its group; its partitions wait for its session to time out',
        { waitedMs: timeoutMs },
      );
    }
    // kafkajs marks its runner running only after the join's promise chain returns: a stop()
    // before that would be a no-op again.
    if (outcome === 'settled') await new Promise((resolve) => setTimeout(resolve, 0));
  };

  return {
    kind: 'kafka',
    chunks: observable,
    async stop() {
      if (stopping) return;
      stopping = true;
      // Nothing new enters the pipeline once stopping (eachBatch); pausing also saves the
      // fetches. kafkajs refuses to pause a consumer that is not running (before run(), or while
      // it restarts after a crash): then the guard alone holds.
      try {
        consumer.pause([{ topic: config.inputTopic }]);
      } catch {
        // not running: nothing is being fetched
      }
      // The chunks read ahead settle in the pipeline, which keeps running: their offsets are
      // committed while the consumer is still in its group (after stop() it no longer can).
      // A pipeline that fails meanwhile closes the source and ends the wait.
      while (aheadCommits.size > 0 && !closed) {
        const closingNow = closingSignal();
        await Promise.race([Promise.all(aheadCommits), closingNow.promise]);
        closingNow.dispose();
      }
      // kafkajs' stop() returns at once while a join is in flight (at start-up, or restarting
      // after a crash), and the join then completes: a member with no pipeline behind it would
      // hold its partitions until its session timed out. So a join in flight is waited for,
      // up to one session timeout (what a member that never leaves costs anyway), and the
      // member then leaves properly.
      if (join !== undefined && !closed) {
        logger.info('stopping: the consumer is joining its group; leaving it once joined');
        await settledJoin(join.ended, config.sessionTimeoutMs);
      }
      // stop() returns once the running eachBatch handlers finished, i.e. after their chunks
      // were written and committed; the pipeline keeps running meanwhile.
      await consumer.stop();
      chunks.complete();
    },
    async close() {
      close();
      await consumer.disconnect();
    },
    healthy: () =>
      connected &&
      !crashed &&
      !heartbeatFailed &&
      Date.now() - lastContact < Math.max(3 * config.heartbeatIntervalMs, 10_000),
  };
}

async function waitWithHeartbeats<T>(
  done: Promise<T>,
  heartbeat: () => Promise<void>,
  failed: () => void,
): Promise<T> {
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    if (!finished) await heartbeat().catch(failed);
  }
  return done;
}
