/**
 * The Kafka sink on a thread of its own (`kafka.producerThread: worker`, the default): the
 * producer, the output records' JSON, their encoding and checksums run on
 * workers/kafka-sink-worker.ts, beside the main thread, which reads Kafka and runs the pipeline
 * and bounds the rate when training is off. A batch crosses packed (packed-output.ts): a few
 * transferred buffers instead of an object per record.
 *
 * The sink behaves as createKafkaSink on the main thread does: `write` resolves when the broker
 * acknowledged, a failure is retriable or a refusal as it was there (sink-thread-protocol.ts),
 * and opening fails as opening there fails, so openWithRetry waits for the brokers the same way.
 * If the thread itself dies, every write in flight and every later one fails, not retriable:
 * the pipeline stops with the batch's records uncommitted, to be read again.
 */
import type { Config } from '../config/schema.js';
import { StreamclustError } from '../errors.js';
import type { Logger } from '../log.js';
import { startWorker } from '../worker-location.js';
import { packOutput } from './packed-output.js';
import type { OutputSink, WrittenOutput } from './sink.js';
import {
  errorFromThread,
  type FromSinkThread,
  type SinkThreadData,
  type ToSinkThread,
} from './sink-thread-protocol.js';

export async function createKafkaSinkThread(
  config: Config['kafka'],
  logger: Logger,
  writeAssignments: boolean,
  origin = '',
): Promise<OutputSink> {
  const data: SinkThreadData = { config, writeAssignments, origin };
  const worker = startWorker('kafka-sink-worker', { workerData: data });
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead: Error | undefined;
  let opened!: (ok: Error | undefined) => void;
  const open = new Promise<Error | undefined>((resolve) => (opened = resolve));

  const fail = (error: Error): void => {
    dead ??= error;
    opened(dead);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  worker.on('message', (message: FromSinkThread) => {
    switch (message.type) {
      case 'log':
        logger[message.level](message.message, message.fields);
        return;
      case 'opened':
        opened(undefined);
        return;
      case 'open-failed':
        opened(errorFromThread(message.error));
        return;
      case 'done':
      case 'failed': {
        const p = pending.get(message.id);
        pending.delete(message.id);
        // No write in flight: the thread may end with the process.
        if (pending.size === 0) worker.unref();
        if (message.type === 'done') p?.resolve();
        else p?.reject(errorFromThread(message.error));
        return;
      }
    }
  });
  worker.on('error', (error) => {
    fail(
      new StreamclustError(`the Kafka sink's thread failed: ${String(error)}`, { cause: error }),
    );
  });
  worker.on('exit', (code) => {
    fail(new StreamclustError(`the Kafka sink's thread ended (exit code ${code})`));
  });

  const failure = await open;
  if (failure !== undefined) {
    await worker.terminate();
    throw failure;
  }
  worker.unref();

  const send = (message: ToSinkThread, transfer: ArrayBuffer[] = []): Promise<void> => {
    if (dead !== undefined) return Promise.reject(dead);
    return new Promise<void>((resolve, reject) => {
      pending.set(message.id, { resolve, reject });
      // A write in flight keeps the process alive until it is answered.
      worker.ref();
      worker.postMessage(message, transfer);
    });
  };
  return {
    write(output: WrittenOutput): Promise<void> {
      const { packed, transfer } = packOutput(output);
      return send({ type: 'write', id: nextId++, output: packed }, transfer);
    },
    async close(): Promise<void> {
      if (dead !== undefined) return;
      const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      await send({ type: 'close', id: nextId++ });
      await ended;
    },
  };
}
