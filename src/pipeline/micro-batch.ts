/**
 * Micro-batching operators.
 *
 * `microBatch(size, maxWaitMs)`: groups items into arrays of at most `size`, closing a batch
 * when it is full or `maxWaitMs` after its first item arrived, whichever comes first. Never
 * emits an empty array; on completion the partial batch is flushed; the timer is released on
 * unsubscribe, error and completion (like RxJS' own `bufferTime`, but the clock starts at the
 * first item rather than ticking on a fixed period, so a quiet stream costs nothing).
 *
 * `fetchedBatches(size, maxWaitMs, { canTake, taken })`: the same over the chunks a source
 * delivers (one Kafka fetch, one read of a file), and a partial batch also closes as soon as
 * the records fetched so far are all in it and the pipeline can take a batch (`canTake()`):
 * holding it open for `maxWaitMs` then would only idle the pipeline. While the pipeline is busy
 * the batch keeps filling, and it closes when the pipeline reports a batch done (`taken`), when
 * it is full, or after `maxWaitMs`. So a slow stream's record waits for its fetch, not for a
 * timer, and under load batches grow towards `size` instead of each small fetch paying a whole
 * batch's fixed costs (a worker round trip, a sink write).
 */
import {
  Observable,
  asyncScheduler,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';

function checkArguments(size: number, maxWaitMs: number): void {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`microBatch: size must be a positive integer, got ${size}`);
  if (!(maxWaitMs > 0))
    throw new RangeError(`microBatch: maxWaitMs must be positive, got ${maxWaitMs}`);
}

export function microBatch<T>(
  size: number,
  maxWaitMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<T, T[]> {
  checkArguments(size, maxWaitMs);
  return batching<T, T>(size, maxWaitMs, scheduler, (item, add) => add(item), undefined);
}

export interface FetchedBatchOptions {
  scheduler?: SchedulerLike;
  /** Whether the pipeline can take a batch now (default: always). */
  canTake?: () => boolean;
  /** Emits when the pipeline finished a batch, so a waiting partial batch may close. */
  taken?: Observable<unknown>;
}

export function fetchedBatches<T>(
  size: number,
  maxWaitMs: number,
  options: FetchedBatchOptions = {},
): OperatorFunction<readonly T[], T[]> {
  checkArguments(size, maxWaitMs);
  return batching<readonly T[], T>(
    size,
    maxWaitMs,
    options.scheduler ?? asyncScheduler,
    (chunk, add) => {
      for (const item of chunk) add(item);
    },
    { canTake: options.canTake ?? (() => true), taken: options.taken },
  );
}

function batching<In, T>(
  size: number,
  maxWaitMs: number,
  scheduler: SchedulerLike,
  take: (input: In, add: (item: T) => void) => void,
  /** Close a partial batch once the inputs arriving together are in, when the pipeline can take it. */
  early: { canTake: () => boolean; taken: Observable<unknown> | undefined } | undefined,
): OperatorFunction<In, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let timer: Subscription | undefined;
      let earlyClose: Subscription | undefined;
      const closeIfTakeable = (): void => {
        if (buffer.length > 0 && early?.canTake() === true) flush();
        else {
          earlyClose?.unsubscribe();
          earlyClose = undefined;
        }
      };
      const onTaken = early?.taken?.subscribe(() => {
        if (earlyClose === undefined) closeIfTakeable();
      });

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        earlyClose?.unsubscribe();
        earlyClose = undefined;
        if (buffer.length === 0) return;
        const batch = buffer;
        buffer = [];
        subscriber.next(batch);
      };

      const add = (item: T): void => {
        buffer.push(item);
        if (buffer.length >= size) flush();
        else if (timer === undefined) timer = scheduler.schedule(flush, maxWaitMs);
      };

      const subscription = source.subscribe({
        next: (input) => {
          take(input, add);
          // Closes once the chunks arriving together are in: a zero delay runs after them.
          if (early !== undefined && buffer.length > 0 && earlyClose === undefined)
            earlyClose = scheduler.schedule(closeIfTakeable, 0);
        },
        error: (error: unknown) => {
          buffer = [];
          subscriber.error(error);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        timer?.unsubscribe();
        earlyClose?.unsubscribe();
        onTaken?.unsubscribe();
        buffer = [];
        subscription.unsubscribe();
      };
    });
}
