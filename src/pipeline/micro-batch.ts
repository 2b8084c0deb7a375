/**
 * `microBatch(size, maxWaitMs)`: groups items into arrays of at most `size`, closing a batch
 * when it is full or `maxWaitMs` after its first item arrived, whichever comes first. Never
 * emits an empty array; on completion the partial batch is flushed; the timer is released on
 * unsubscribe, error and completion (like RxJS' own `bufferTime`, but the clock starts at the
 * first item rather than ticking on a fixed period, so a quiet stream costs nothing).
 */
import {
  Observable,
  asyncScheduler,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';

export function microBatch<T>(
  size: number,
  maxWaitMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<T, T[]> {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`microBatch: size must be a positive integer, got ${size}`);
  if (!(maxWaitMs > 0))
    throw new RangeError(`microBatch: maxWaitMs must be positive, got ${maxWaitMs}`);
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let timer: Subscription | undefined;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (buffer.length === 0) return;
        const batch = buffer;
        buffer = [];
        subscriber.next(batch);
      };

      const subscription = source.subscribe({
        next: (item) => {
          buffer.push(item);
          if (buffer.length >= size) flush();
          else if (timer === undefined) timer = scheduler.schedule(flush, maxWaitMs);
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
        buffer = [];
        subscription.unsubscribe();
      };
    });
}
