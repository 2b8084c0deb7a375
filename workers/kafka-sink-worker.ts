/**
 * Entry point of the Kafka sink's thread (src/sinks/kafka-sink-thread.ts): the Kafka sink
 * itself, with its producer, runs here, so that encoding the output records, their checksums
 * and the producer's requests leave the main thread, which reads Kafka and runs the pipeline.
 * Thin on purpose: the sink is createKafkaSink, the messages are in sink-thread-protocol.ts.
 * Writes are taken one at a time, in the order they came.
 */
import { parentPort, workerData } from 'node:worker_threads';

import type { Logger } from '../src/log.js';
import { createKafkaSink } from '../src/sinks/kafka-sink.js';
import { unpackOutput } from '../src/sinks/packed-output.js';
import type { OutputSink } from '../src/sinks/sink.js';
import {
  portableError,
  type FromSinkThread,
  type SinkThreadData,
  type ToSinkThread,
} from '../src/sinks/sink-thread-protocol.js';

const port = parentPort!;
const post = (message: FromSinkThread): void => port.postMessage(message);
const { config, writeAssignments, origin } = workerData as SinkThreadData;

/** Log lines go to the main thread's logger, which filters and writes them. */
const log =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (message: string, fields?: Record<string, unknown>): void =>
    post({ type: 'log', level, message, fields });
const logger: Logger = {
  debug: log('debug'),
  info: log('info'),
  warn: log('warn'),
  error: log('error'),
};

let sink: OutputSink | undefined;
let queue: Promise<void> = Promise.resolve();

port.on('message', (message: ToSinkThread) => {
  queue = queue.then(() => handle(message));
});

async function handle(message: ToSinkThread): Promise<void> {
  if (message.type === 'close') {
    try {
      await sink?.close();
      post({ type: 'done', id: message.id });
    } catch (error) {
      post({ type: 'failed', id: message.id, error: portableError(error) });
    }
    port.close();
    return;
  }
  try {
    await sink!.write(unpackOutput(message.output));
    post({ type: 'done', id: message.id });
  } catch (error) {
    post({ type: 'failed', id: message.id, error: portableError(error) });
  }
}

// No top-level await: from source this file is loaded through require (worker-location.ts).
void (async () => {
  try {
    sink = await createKafkaSink(config, logger, writeAssignments, origin);
    post({ type: 'opened' });
  } catch (error) {
    post({ type: 'open-failed', error: portableError(error) });
    port.close();
  }
})();
