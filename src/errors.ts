/**
 * Typed errors, after kafkajs' `src/errors.js`: every error says whether retrying can help
 * (`retriable`) and keeps the error that caused it. Retry loops look at `retriable` only; a
 * TypeError or any other plain error is a bug and is never retried.
 */
export class StreamclustError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value is invalid: start-up stops with this message. Never retriable. */
export class ConfigError extends StreamclustError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(formatProblems(problems));
    this.problems = problems;
  }
}

export interface ConfigProblem {
  /** Dotted key, e.g. `batch.size`. */
  key: string;
  /** The value found there, rendered for humans (`<missing>` when absent). */
  value: string;
  /** The rule it broke. */
  rule: string;
  /** How to fix it. */
  fix: string;
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map(
    (p) => `  - ${p.key}: ${p.value} is invalid: ${p.rule}. Fix: ${p.fix}`,
  );
  const noun = problems.length === 1 ? 'problem' : 'problems';
  return `invalid configuration (${problems.length} ${noun}):\n${lines.join('\n')}`;
}

/** The requested compute backend cannot be loaded on this machine. */
export class BackendUnavailableError extends StreamclustError {}

/** A record could not be decoded; carries the reason code used for the dead-letter topic. */
export class DecodeError extends StreamclustError {
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Whether retrying an operation that threw this error can help. Our own errors say so; kafkajs
 * marks its errors `retriable`, and gives up on a retriable condition with
 * KafkaJSNumberOfRetriesExceeded, whose cause is what failed; connection and timeout errors are
 * the broker being away, which waiting fixes. Anything else (a TypeError, a rejected message) is
 * a bug or a permanent refusal: retrying it would only loop.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof StreamclustError) return error.retriable;
  if (!(error instanceof Error)) return false;
  const kafkaError = error as Error & { retriable?: boolean; cause?: unknown };
  if (!error.name.startsWith('KafkaJS')) return false;
  if (kafkaError.retriable === true) return true;
  if (
    /^KafkaJS(ConnectionError|ConnectionClosedError|RequestTimeoutError|BrokerNotFound|LockTimeout)$/.test(
      error.name,
    )
  ) {
    return true;
  }
  if (error.name === 'KafkaJSNumberOfRetriesExceeded') {
    return kafkaError.cause === undefined || isRetriable(kafkaError.cause);
  }
  // kafkajs' nested retriers wrap an exhausted inner retry in KafkaJSNonRetriableError, with the
  // original error as its cause: "non-retriable" there means "kafkajs stops retrying", not "the
  // failure is permanent". A broker that refused connections for a while is still worth waiting
  // for (seen when a sink write started as the broker went down); a refusal stays permanent.
  if (error.name === 'KafkaJSNonRetriableError' && kafkaError.cause !== error) {
    return kafkaError.cause !== undefined && isRetriable(kafkaError.cause);
  }
  return false;
}

/**
 * An outside system refused for good (a Kafka topic's limits or permissions, a full or
 * read-only disk): retrying cannot help and the operator has to act. The process stops cleanly
 * with EXIT_REFUSED, its records uncommitted, after saying what refused and what to do.
 */
export class RefusedError extends StreamclustError {}

/** Exit code after a permanent refusal or a stall (sysexits' EX_UNAVAILABLE). */
export const EXIT_REFUSED = 69;

/** What to do about the Kafka refusals an operator can fix, by protocol error type. */
const KAFKA_FIXES: Record<string, string> = {
  MESSAGE_TOO_LARGE:
    "raise the topic's max.message.bytes (and the broker's message.max.bytes) above the message size",
  RECORD_LIST_TOO_LARGE: "raise the topic's max.message.bytes, or lower batch.size",
  TOPIC_AUTHORIZATION_FAILED:
    "grant this client's principal access to the topic (Kafka ACLs: Read on the input, Write on the outputs, Create where kafka.createTopics is on)",
  GROUP_AUTHORIZATION_FAILED: "grant this client's principal Read on the consumer group",
  CLUSTER_AUTHORIZATION_FAILED:
    "grant this client's principal the cluster permission it needs (IdempotentWrite for the producer), or ask the Kafka operator",
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    "grant this client's principal Write on its transactional id (kafka.transactionalId)",
  SASL_AUTHENTICATION_FAILED: 'check kafka.sasl.username and the password',
  UNKNOWN_TOPIC_OR_PARTITION:
    'create the topic, or correct its name (kafka.inputTopic, kafka.assignmentsTopic, kafka.deadLetterTopic, kafka.eventsTopic)',
  INVALID_REPLICATION_FACTOR:
    'the cluster has fewer brokers than the replication factor: create the output topics yourself and set kafka.createTopics false',
  POLICY_VIOLATION:
    'a broker policy refused the request: create the output topics yourself and set kafka.createTopics false',
  UNSUPPORTED_COMPRESSION_TYPE: 'choose another kafka.compression',
  UNSUPPORTED_VERSION:
    'this Kafka is too old for the request; streamclust needs Kafka 2.x or later',
};

/** Node's file-system error codes that an operator fixes on the machine, not by waiting. */
const FILE_SYSTEM_FIXES: Record<string, string> = {
  ENOSPC: 'free space on the disk',
  EDQUOT: 'raise the disk quota or free space',
  EROFS: 'the file system is read-only: remount it read-write or point the path elsewhere',
  EACCES: 'give the process write permission or point the path elsewhere',
  EPERM: 'give the process write permission or point the path elsewhere',
  EIO: 'the disk reports I/O errors: check the device',
  ENOTDIR: 'a part of the path is a file, not a directory: point the path at a directory',
  EEXIST: 'the path exists and is not a directory: point the path at a directory',
  EISDIR: 'a directory stands where a file belongs: remove it or point the path elsewhere',
};

/**
 * The one-line report of a permanent refusal by Kafka or the disk (what refused, and the fix),
 * or undefined for anything else (a bug, or a failure worth retrying).
 */
export function describeRefusal(error: unknown): string | undefined {
  if (error instanceof RefusedError) return error.message;
  for (const e of causeChain(error)) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && KAFKA_FIXES[type] !== undefined && !isRetriable(e))
      return `Kafka refused a request (${type}: ${e.message}). Fix: ${KAFKA_FIXES[type]}`;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && FILE_SYSTEM_FIXES[code] !== undefined) {
      const path = (e as NodeJS.ErrnoException).path;
      return (
        `${error instanceof Error && error !== e ? `${error.message}; ` : ''}` +
        `the file system refused (${code}${path === undefined ? '' : ` on ${path}`}). Fix: ${FILE_SYSTEM_FIXES[code]}`
      );
    }
  }
  return undefined;
}

/**
 * The one-line report of a failure that is not a bug: a broker that cannot be reached, a port in
 * use, a file that is not there. Undefined for anything else (a bug keeps its stack trace).
 */
export function describeExpectedFailure(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const { name } = e;
    const code = (e as NodeJS.ErrnoException).code;
    if (name === 'KafkaJSConnectionError') {
      const broker = (e as { broker?: string }).broker ?? 'the Kafka broker';
      const why =
        code === 'ECONNREFUSED'
          ? 'connection refused'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'no such host'
            : e.message.replace(/^Connection error: /, '');
      return (
        `cannot reach the Kafka broker ${broker} (${why}). ` +
        'Fix: check kafka.brokers (--brokers, KAFKA_BROKERS) and that the broker is up'
      );
    }
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL') {
      const { address, port } = e as { address?: string; port?: number };
      const where = port === undefined ? 'the HTTP address' : `${address ?? ''}:${port}`;
      return (
        `${where} ${code === 'EADDRINUSE' ? 'is in use by another process' : 'is not an address of this machine'}. ` +
        'Fix: pass --port N (0 picks a free port) or --host, or stop the other process'
      );
    }
    if (code === 'ENOENT') {
      const path = (e as NodeJS.ErrnoException).path;
      return `no such file or directory: ${path ?? e.message}. Fix: check the path`;
    }
  }
  return undefined;
}

/** The kafkajs protocol error type (e.g. MESSAGE_TOO_LARGE) of an error or of one it wraps. */
export function protocolType(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

/** The error and the errors it wraps (`cause`), outermost first, at most six deep. */
function* causeChain(error: unknown): Generator<Error> {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 6; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}
