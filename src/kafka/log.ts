/**
 * Routes kafkajs' own log lines into streamclust's logger. kafkajs logs retriable conditions
 * (a coordinator still loading, a leader moving) at ERROR and then retries them itself, so they
 * arrive here as warnings. Its WARN lines are advice to kafkajs' own users ("switched default
 * partitioner", "limiting retries for the idempotent producer may invalidate EoS guarantees")
 * that streamclust has already acted on: debug, with its INFO chatter.
 */
import { logLevel, type logCreator } from 'kafkajs';

import type { Logger } from '../log.js';

/**
 * `errorsAs: 'debug'` for a client whose failure the command reports itself in one line (a
 * command's first contact): its retries' connection errors would only repeat it.
 */
export function kafkaLogCreator(
  logger: Logger,
  { errorsAs = 'warn' }: { errorsAs?: 'warn' | 'debug' } = {},
): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...rest } = log;
      const fields: Record<string, unknown> = { namespace };
      for (const key of ['broker', 'groupId', 'topic', 'error', 'retryCount']) {
        if (rest[key] !== undefined) fields[key] = key === 'error' ? String(rest[key]) : rest[key];
      }
      const text = `kafkajs: ${String(message)}`;
      if (level === logLevel.ERROR && errorsAs === 'warn') logger.warn(text, fields);
      else logger.debug(text, fields);
    };
}
