import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { isRetriable, StreamclustError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { lostSequence } from '../../../src/sinks/kafka-sink.js';
import type { Sink } from '../../../src/sinks/sink.js';
import { PLUMBING_TRAINING } from '../../helpers/plumbing.js';

const config = validateConfig({
  synthetic: { totalRecords: 2000, recordsPerSecond: 0 },
  cluster: { k: 5 },
  training: PLUMBING_TRAINING,
  http: { enabled: false },
  log: { level: 'silent', statusIntervalMs: 0 },
});

/** What kafkajs throws when the broker refuses a message as too large (error code 10). */
function tooLarge(): KafkaJSProtocolError {
  return new KafkaJSProtocolError({
    type: 'MESSAGE_TOO_LARGE',
    code: 10,
    retriable: false,
    message:
      'The request included a message larger than the max message size the server will accept',
  } as never);
}

/** What the broker answers when an idempotent producer's sequence numbers skip (error code 45). */
function outOfOrder() {
  return {
    type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    code: 45,
    retriable: false,
    message: 'The broker received an out of order sequence number',
  } as never;
}

/** kafkajs' retrier builds these as `new KafkaJSNonRetriableError(e, { cause })`; its types omit the cause. */
function nonRetriable(e: Error, cause: unknown): KafkaJSNonRetriableError {
  return Object.assign(new KafkaJSNonRetriableError(e), { cause });
}

describe('isRetriable', () => {
  it('retries the broker being away, not bugs or refusals', () => {
    expect(isRetriable(new KafkaJSConnectionError('connect ECONNREFUSED'))).toBe(true);
    const gaveUp = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('down'), {
      retryCount: 5,
      retryTime: 1000,
    });
    expect(isRetriable(gaveUp)).toBe(true);
    // What a producer's send threw when it started as the broker went down: kafkajs' outer
    // retrier wraps the exhausted inner one, the connection error as the cause.
    const wrapped = nonRetriable(gaveUp, gaveUp.cause);
    expect(wrapped.message).toBe('down');
    expect(isRetriable(wrapped)).toBe(true);
    expect(isRetriable(nonRetriable(tooLarge(), tooLarge()))).toBe(false);
    expect(isRetriable(new KafkaJSNonRetriableError(new Error('no cause')))).toBe(false);
    expect(isRetriable(tooLarge())).toBe(false);
    expect(isRetriable(new TypeError('x is not a function'))).toBe(false);
    expect(isRetriable(new StreamclustError('later', { retriable: true }))).toBe(true);
    expect(isRetriable(new StreamclustError('never'))).toBe(false);
  });

  it('knows when only a new producer id gets an idempotent producer past the broker', () => {
    expect(lostSequence(new KafkaJSProtocolError(outOfOrder()))).toBe(true);
    const gaveUp = new KafkaJSNumberOfRetriesExceeded(new KafkaJSProtocolError(outOfOrder()), {
      retryCount: 0,
      retryTime: 100,
    });
    expect(lostSequence(nonRetriable(gaveUp, gaveUp.cause))).toBe(true);
    expect(lostSequence(tooLarge())).toBe(false);
    expect(lostSequence(new KafkaJSConnectionError('down'))).toBe(false);
  });
});

describe('writes to the sinks', () => {
  it('are retried while the failure is retriable, with /readyz saying why, and lose nothing', async () => {
    let failures = 3;
    let written = 0;
    let notReadyWhileFailing: string[] = [];
    const sink: Sink = {
      write: async (output) => {
        if (failures > 0 && written > 0) {
          failures -= 1;
          notReadyWhileFailing = pipeline.readiness().reasons;
          throw new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:9092');
        }
        written += output.assignments.length + output.deadLetters.length;
      },
      close: async () => undefined,
    };
    const pipeline = await createPipeline(config, {
      logger: silentLogger,
      sink,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await pipeline.run();
    expect(failures).toBe(0);
    expect(written).toBe(2000);
    expect(notReadyWhileFailing).toEqual([
      'sinks unavailable, retrying: KafkaJSConnectionError: connect ECONNREFUSED 127.0.0.1:9092',
    ]);
    expect(pipeline.readiness()).toEqual({ ready: true, reasons: [] });
  });

  it('run one at a time, and a failed write is retried before any later write starts', async () => {
    // Which batch each attempt wrote (its first record's id), in the order the attempts started.
    const attempts: string[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    let failed = false;
    let written = 0;
    const sink: Sink = {
      write: async (output) => {
        const first = output.assignments[0]?.record ?? output.deadLetters[0]?.record;
        attempts.push(`${first?.partition}:${first?.offset}`);
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          // Slow enough that the pipeline issues the next batch's write meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (!failed && attempts.length === 3) {
            failed = true;
            throw new KafkaJSConnectionError('Connection closed');
          }
          written += output.assignments.length + output.deadLetters.length;
        } finally {
          inFlight -= 1;
        }
      },
      close: async () => undefined,
    };
    const pipeline = await createPipeline(
      validateConfig({ ...config, batch: { size: 100, maxWaitMs: 1 } }),
      { logger: silentLogger, sink, metrics: new Metrics({ defaultMetrics: false }) },
    );
    await pipeline.run();
    expect(failed).toBe(true);
    expect(mostInFlight).toBe(1);
    // The third attempt failed; the fourth wrote the same batch again.
    expect(attempts[3]).toBe(attempts[2]);
    expect(new Set(attempts).size).toBe(attempts.length - 1);
    expect(written).toBe(2000);
  });

  it('stop the pipeline on a permanent failure instead of looping', async () => {
    const sink: Sink = {
      write: async () => {
        throw tooLarge();
      },
      close: async () => undefined,
    };
    const pipeline = await createPipeline(config, {
      logger: silentLogger,
      sink,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await expect(pipeline.run()).rejects.toThrow('message larger than the max message size');
  });
});
