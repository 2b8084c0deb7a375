/**
 * Turns a record generator into a bounded, optionally rate-limited stream of chunks: at most
 * `maxInFlight` chunks are emitted and not yet settled by the pipeline, so a slow pipeline holds
 * the generator back instead of letting records pile up in memory. Shared by the synthetic and
 * file sources (Kafka has its own bound: the consumer waits on each batch).
 */
import { Observable } from 'rxjs';

import { RecordChunk, type SourceRecord } from './source.js';

export interface PacedChunksOptions {
  chunkSize: number;
  maxInFlight: number;
  /** 0 = as fast as the pipeline takes them. */
  recordsPerSecond: number;
  /** Set to true to stop after the chunk being built. */
  stopped: () => boolean;
}

export function pacedChunks(
  records: Iterable<Omit<SourceRecord, 'chunk'>> | AsyncIterable<Omit<SourceRecord, 'chunk'>>,
  options: PacedChunksOptions,
): Observable<RecordChunk> {
  return new Observable<RecordChunk>((subscriber) => {
    let cancelled = false;
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    let emitted = 0;

    const run = async (): Promise<void> => {
      let chunk = new RecordChunk();
      const emit = async (): Promise<void> => {
        while (inFlight.size >= options.maxInFlight && !cancelled) await Promise.race(inFlight);
        if (cancelled) return;
        const done = chunk.done.then(() => void inFlight.delete(done));
        inFlight.add(done);
        emitted += chunk.records.length;
        subscriber.next(chunk);
        chunk = new RecordChunk();
        if (options.recordsPerSecond > 0) {
          const due = started + (emitted / options.recordsPerSecond) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
      };
      for await (const record of records) {
        if (cancelled || options.stopped()) break;
        chunk.add(record);
        if (chunk.records.length >= options.chunkSize) await emit();
      }
      if (chunk.records.length > 0 && !cancelled) await emit();
      if (!cancelled) subscriber.complete();
    };
    run().catch((error: unknown) => subscriber.error(error));
    return () => {
      cancelled = true;
    };
  });
}
