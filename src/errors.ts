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
