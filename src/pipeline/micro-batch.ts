/**
 * Micro-batching operators.
 *
 * `microBatch(size, maxWaitMs)`: groups items into arrays of at most `size`, closing a batch
 * when it is full or `maxWaitMs` after its first item arrived, whichever comes first. Never
 * emits an empty array; on completion the partial batch is flushed; the timer is released on
 * unsubscribe, error and completion (like RxJS' own `bufferTime`, but the clock starts at the
 * first item rather than ticking on a fixed period, so a quiet stream costs nothing).
 *
 * `fetchedBatches(size, maxWaitMs)`: the same over the chunks a source delivers (one Kafka
 * fetch, one read of a file), and a partial batch also closes as soon as the records fetched so
 * far are all in it: once the chunks that arrived together have been taken (the next turn of
 * the event loop), nothing more is waiting, and holding the batch open for `maxWaitMs` would
 * only idle the pipeline. Under load fetches are large and batches full; on a slow stream a
 * record waits for its fetch, not for a timer. `maxWaitMs` still bounds the wait of a record
 * in an open batch.
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
  return batching<T, T>(size, maxWaitMs, scheduler, (item, add) => add(item), false);
}

export function fetchedBatches<T>(
  size: number,
  maxWaitMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<readonly T[], T[]> {
  checkArguments(size, maxWaitMs);
  return batching<readonly T[], T>(
    size,
    maxWaitMs,
    scheduler,
    (chunk, add) => {
      for (const item of chunk) add(item);
    },
    true,
  );
}

function batching<In, T>(
  size: number,
  maxWaitMs: number,
  scheduler: SchedulerLike,
  take: (input: In, add: (item: T) => void) => void,
  closeWhenTaken: boolean,
): OperatorFunction<In, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let timer: Subscription | undefined;
      let taken: Subscription | undefined;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        taken?.unsubscribe();
        taken = undefined;
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
          if (closeWhenTaken && buffer.length > 0 && taken === undefined)
            taken = scheduler.schedule(flush, 0);
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
        taken?.unsubscribe();
        buffer = [];
        subscription.unsubscribe();
      };
    });
}
