// A failure on the Kafka sink's thread must be handled on the main thread as it would have been
// there: retried when waiting helps, stopped with the refusal's fix when it does not.
import { describe, expect, it } from 'vitest';

import {
  describeRefusal,
  isRetriable,
  protocolType,
  RefusedError,
  StreamclustError,
} from '../../../src/errors.js';
import { errorFromThread, portableError } from '../../../src/sinks/sink-thread-protocol.js';

/** A kafkajs protocol error as kafkajs builds it. */
function kafkaError(type: string, retriable: boolean, name = 'KafkaJSProtocolError'): Error {
  return Object.assign(new Error(`the broker says ${type}`), { name, type, retriable });
}

/** Through structuredClone, as postMessage carries it. */
const across = (error: unknown): StreamclustError =>
  errorFromThread(structuredClone(portableError(error)));

describe('errors from the Kafka sink thread', () => {
  it.each([
    ['a retriable protocol error', kafkaError('NOT_LEADER_FOR_PARTITION', true)],
    [
      'retries exhausted on a connection error',
      Object.assign(new Error('retries exhausted'), {
        name: 'KafkaJSNumberOfRetriesExceeded',
        cause: Object.assign(new Error('Connection error: ECONNREFUSED'), {
          name: 'KafkaJSConnectionError',
        }),
      }),
    ],
    [
      'a hung write',
      new StreamclustError('writing to Kafka took longer than kafka.writeTimeoutMs (30000 ms)', {
        retriable: true,
      }),
    ],
  ])('%s stays retriable, with its name and message', (_, error) => {
    expect(isRetriable(error)).toBe(true);
    const back = across(error);
    expect(isRetriable(back)).toBe(true);
    expect(back.name).toBe(error.name);
    expect(back.message).toBe(error.message);
    expect(String(back)).toBe(String(error));
  });

  it('a refusal becomes a RefusedError with the same report and fix', () => {
    const error = kafkaError('TOPIC_AUTHORIZATION_FAILED', false);
    const back = across(error);
    expect(back).toBeInstanceOf(RefusedError);
    expect(isRetriable(back)).toBe(false);
    expect(describeRefusal(back)).toBe(describeRefusal(error));
    expect(describeRefusal(back)).toMatch(/Fix: grant this client's principal access/);
    expect(protocolType(back)).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('our own refusal keeps its message', () => {
    const error = new RefusedError(
      "the topic out refuses a message of about 150 bytes as too large (MESSAGE_TOO_LARGE). Fix: raise the topic's max.message.bytes",
    );
    const back = across(error);
    expect(back).toBeInstanceOf(RefusedError);
    expect(back.message).toBe(error.message);
  });

  it('a bug is not retried and keeps its name', () => {
    const back = across(new TypeError("Cannot read properties of undefined (reading 'key')"));
    expect(isRetriable(back)).toBe(false);
    expect(describeRefusal(back)).toBeUndefined();
    expect(back.name).toBe('TypeError');
    expect(back).not.toBeInstanceOf(RefusedError);
  });

  it('a non-retriable protocol error keeps its type for the cause chain', () => {
    const back = across(kafkaError('CORRUPT_MESSAGE', false));
    expect(isRetriable(back)).toBe(false);
    expect(protocolType(back)).toBe('CORRUPT_MESSAGE');
  });
});
