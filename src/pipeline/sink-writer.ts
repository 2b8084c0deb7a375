/**
 * Writes a batch's outputs to the sinks until they acknowledge. A retriable failure (the broker
 * away, a leader moving) is retried with capped exponential backoff for as long as it lasts, and
 * reported meanwhile (`failure`, which /readyz and the status show); the source is held back by
 * the unsettled records, so nothing piles up. A permanent failure is thrown: the pipeline stops
 * and the batch's records stay uncommitted, to be read again.
 *
 * Writes run one at a time, retries included, in the order they were issued. The Kafka sink's
 * idempotent producer numbers its messages per partition; when a request reaches the broker but
 * its answer is lost, the retry must send the same messages under the same numbers, which it can
 * only do if no later write took them meanwhile (the broker would refuse that one as out of
 * order). Batches still overlap: the next is assigned while this one's write is awaited.
 */
import { isRetriable } from '../errors.js';
import type { Logger } from '../log.js';
import { SerialQueue } from '../serial-queue.js';
import type { BatchOutput, Sink } from '../sinks/sink.js';

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 10_000;

export class SinkWriter {
  private readonly sink: Sink;
  private readonly logger: Logger;
  private lastFailure: string | undefined;
  private readonly queue = new SerialQueue();

  constructor(sink: Sink, logger: Logger) {
    this.sink = sink;
    this.logger = logger;
  }

  /** The last failure while writes are being retried; undefined when writes succeed. */
  get failure(): string | undefined {
    return this.lastFailure;
  }

  write(output: BatchOutput): Promise<void> {
    return this.queue.run(() => this.writeUntilAcknowledged(output));
  }

  private async writeUntilAcknowledged(output: BatchOutput): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sink.write(output);
        if (this.lastFailure !== undefined) this.logger.info('the sinks accept writes again');
        this.lastFailure = undefined;
        return;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        this.lastFailure = String(error);
        const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 6));
        this.logger.warn('writing to the sinks failed; retrying', {
          attempt,
          delayMs: delay,
          error: String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
