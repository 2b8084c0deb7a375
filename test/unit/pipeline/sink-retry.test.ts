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
