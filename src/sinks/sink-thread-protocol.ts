/**
 * Messages between the Kafka sink's thread (workers/kafka-sink-worker.ts) and the main thread
 * (kafka-sink-thread.ts), and how an error crosses between them: what the retry loops and the
 * exit code look at (retriable or not, the refusal and its fix, Kafka's protocol error type) goes
 * with the name and message, so a failure is handled as it would be on the main thread.
 */
import type { Config } from '../config/schema.js';
import {
  describeRefusal,
  isRetriable,
  protocolType,
  RefusedError,
  StreamclustError,
} from '../errors.js';
import type { LogLevel } from '../log.js';
import type { PackedOutput } from './packed-output.js';

export interface SinkThreadData {
  config: Config['kafka'];
  writeAssignments: boolean;
  origin: string;
}

export type ToSinkThread =
  { type: 'write'; id: number; output: PackedOutput } | { type: 'close'; id: number };

export type FromSinkThread =
  | { type: 'opened' }
  | { type: 'open-failed'; error: PortableError }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; error: PortableError }
  | {
      type: 'log';
      level: Exclude<LogLevel, 'silent'>;
      message: string;
      fields: Record<string, unknown> | undefined;
    };

export interface PortableError {
  name: string;
  message: string;
  retriable: boolean;
  /** describeRefusal's report, when Kafka or the disk refused for good. */
  refusal: string | undefined;
  /** Kafka's protocol error type, when one is in the cause chain. */
  protocolType: string | undefined;
}

export function portableError(error: unknown): PortableError {
  return {
    name: error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
    retriable: isRetriable(error),
    refusal: describeRefusal(error),
    protocolType: protocolType(error),
  };
}

/**
 * The error to throw on the main thread: a RefusedError with the report for a refusal, else a
 * StreamclustError retriable as the original was, named as it was; its cause carries the
 * protocol error type.
 */
export function errorFromThread(e: PortableError): StreamclustError {
  const cause = Object.assign(new Error(e.message), {
    name: e.name,
    ...(e.protocolType === undefined ? {} : { type: e.protocolType }),
  });
  if (e.refusal !== undefined) return new RefusedError(e.refusal, { cause });
  const error = new StreamclustError(e.message, { retriable: e.retriable, cause });
  error.name = e.name;
  return error;
}
