/**
 * Opening the sinks at start-up while the Kafka brokers may still be away: the HTTP endpoints
 * are already up, so the wait shows on /readyz instead of as connection refused, and a deadline
 * (kafka.startupTimeoutMs) ends it with a clear error instead of a stack trace. Also where the
 * assignments go (`assignmentsTarget`), for the sinks and the end-of-run summary alike.
 */
import type { Config } from '../config/schema.js';
import { isRetriable, RefusedError, StreamclustError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Sink } from '../sinks/sink.js';

/**
 * Opens the sinks, retrying while Kafka is unreachable (each failed attempt logged, `onWait`
 * told why for /readyz), until kafka.startupTimeoutMs; then stops with a RefusedError naming the
 * brokers, the last error and the fix. A refusal (permissions, a policy) is not retried.
 */
export async function openWithRetry(
  open: () => Promise<Sink>,
  config: Config,
  logger: Logger,
  onWait: (why: string | undefined) => void,
): Promise<Sink> {
  const deadline = Date.now() + config.kafka.startupTimeoutMs;
  const brokers = config.kafka.brokers.join(',');
  for (let attempt = 1; ; attempt++) {
    onWait(`connecting to the Kafka brokers ${brokers} (attempt ${attempt})`);
    try {
      // kafkajs retries a refused connection for about a minute inside one attempt: the
      // deadline also cuts an attempt short.
      let timer: NodeJS.Timeout | undefined;
      const timeUp = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StreamclustError('no answer before the deadline', { retriable: true })),
          Math.max(0, deadline - Date.now()),
        );
      });
      const sink = await Promise.race([open(), timeUp]).finally(() => clearTimeout(timer));
      onWait(undefined);
      if (attempt > 1)
        logger.info('Kafka reachable: output topics and producer ready', { attempt });
      return sink;
    } catch (error) {
      if (config.source !== 'kafka' && config.sinks.assignments !== 'kafka') throw error;
      // kafkajs gives up connecting with KafkaJSNumberOfRetriesExceeded (ECONNREFUSED inside),
      // which isRetriable counts as the broker being away.
      if (!isRetriable(error)) throw error;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new RefusedError(
          `could not reach the Kafka brokers ${brokers} within kafka.startupTimeoutMs ` +
            `(${config.kafka.startupTimeoutMs} ms; ${attempt} attempts); last error: ${String(error)}. ` +
            'Fix: check kafka.brokers, the network path and that the brokers are up',
          { cause: error },
        );
      }
      const why = `waiting for the Kafka brokers ${brokers} (attempt ${attempt}): ${String(error)}`;
      onWait(why);
      const delay = Math.min(left, 1_000 * 2 ** Math.min(attempt - 1, 4));
      logger.warn('cannot reach Kafka at start; retrying', {
        brokers,
        attempt,
        retryInMs: delay,
        giveUpInS: Math.round(left / 1000),
        error: String(error),
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Where assignments go: sinks.assignments, with `auto` resolved by the source. */
export function assignmentsTarget(config: Config): 'kafka' | 'stdout' | 'file' | 'none' {
  const { assignments } = config.sinks;
  if (assignments !== 'auto') return assignments;
  return config.source === 'kafka' ? 'kafka' : config.source === 'file' ? 'stdout' : 'none';
}
