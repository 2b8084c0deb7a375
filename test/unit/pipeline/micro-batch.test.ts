import { Subject, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';

import { fetchedBatches, microBatch } from '../../../src/pipeline/micro-batch.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('microBatch', () => {
  it('closes a batch when it is full', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcdefg|');
      expectObservable(source.pipe(microBatch(3, 100))).toBe('--x--y-(z|)', {
        x: ['a', 'b', 'c'],
        y: ['d', 'e', 'f'],
        z: ['g'],
      });
    });
  });

  it('closes a partial batch maxWaitMs after its first item, not on a fixed tick', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 4ms b 20ms c 30ms |');
      // a at 0, b at 5 → closes at 10; c at 26 → closes at 36; completion at 57 with nothing left.
      expectObservable(source.pipe(microBatch(10, 10))).toBe('10ms x 25ms y 20ms |', {
        x: ['a', 'b'],
        y: ['c'],
      });
    });
  });

  it('never emits an empty batch, even when the source is silent for a long time', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('100ms |');
      expectObservable(source.pipe(microBatch(3, 10))).toBe('100ms |');
    });
  });

  it('flushes the partial batch on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab|');
      expectObservable(source.pipe(microBatch(5, 100))).toBe('--(x|)', { x: ['a', 'b'] });
    });
  });

  it('passes errors through and drops the partial batch', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab#');
      expectObservable(source.pipe(microBatch(5, 100))).toBe('--#');
    });
  });

  it('releases its timer and the source on unsubscribe', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a 50ms b|');
      const unsubscribe = '5ms !';
      expectObservable(source.pipe(microBatch(5, 10)), unsubscribe).toBe('');
      expectSubscriptions(source.subscriptions).toBe('^ 4ms !');
    });
  });

  it('rejects sizes and waits that cannot work', () => {
    expect(() => microBatch(0, 10)).toThrow('microBatch: size must be a positive integer, got 0');
    expect(() => microBatch(2, 0)).toThrow('microBatch: maxWaitMs must be positive, got 0');
  });

  it('works with real time and a hot source', async () => {
    const subject = new Subject<number>();
    const batches: number[][] = [];
    const done = new Promise<void>((resolve) =>
      subject
        .pipe(microBatch(2, 20))
        .subscribe({ next: (b) => batches.push(b), complete: resolve }),
    );
    subject.next(1);
    subject.next(2);
    subject.next(3);
    await new Promise((r) => setTimeout(r, 60));
    subject.next(4);
    subject.complete();
    await done;
    expect(batches).toEqual([[1, 2], [3], [4]]);
  });
});

describe('fetchedBatches', () => {
  it('closes a partial batch as soon as the fetched records are in, not after maxWaitMs', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('x 9ms z 50ms |', { x: ['a', 'b'], z: ['c'] });
      expectObservable(source.pipe(fetchedBatches(5, 100))).toBe('u 9ms v 50ms |', {
        u: ['a', 'b'],
        v: ['c'],
      });
    });
  });

  it('puts the chunks that arrive together into one batch', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('(xz) 50ms |', { x: ['a', 'b'], z: ['c'] });
      expectObservable(source.pipe(fetchedBatches(5, 100))).toBe('u 53ms |', {
        u: ['a', 'b', 'c'],
      });
    });
  });

  it('cuts a large fetch into full batches and closes the rest at once', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('x 50ms |', { x: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
      expectObservable(source.pipe(fetchedBatches(3, 100))).toBe('(uvw) 46ms |', {
        u: ['a', 'b', 'c'],
        v: ['d', 'e', 'f'],
        w: ['g'],
      });
    });
  });

  it('keeps filling while the pipeline is busy and closes when it reports a batch done', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      let free = false;
      const taken = hot('20ms t').pipe(tap(() => (free = true)));
      const source = cold('x 9ms z 50ms |', { x: ['a', 'b'], z: ['c'] });
      const batches = source.pipe(fetchedBatches(5, 100, { canTake: () => free, taken }));
      expectObservable(batches).toBe('20ms u 40ms |', { u: ['a', 'b', 'c'] });
    });
  });

  it('while the pipeline stays busy, closes a batch when it is full or after maxWaitMs', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('x 9ms z 50ms |', { x: ['a', 'b'], z: ['c', 'd', 'e'] });
      const busy = { canTake: () => false };
      expectObservable(source.pipe(fetchedBatches(4, 30, busy))).toBe('10ms u 29ms v 20ms |', {
        u: ['a', 'b', 'c', 'd'],
        v: ['e'],
      });
    });
  });

  it('works with real time: a fetch waits for no timer', async () => {
    const subject = new Subject<number[]>();
    const batches: number[][] = [];
    const at: number[] = [];
    const started = performance.now();
    subject.pipe(fetchedBatches(100, 10_000)).subscribe((b) => {
      batches.push(b);
      at.push(performance.now() - started);
    });
    subject.next([1, 2]);
    subject.next([3]);
    await new Promise((r) => setTimeout(r, 50));
    expect(batches).toEqual([[1, 2, 3]]);
    expect(at[0]).toBeLessThan(1_000);
    subject.complete();
  });
});
