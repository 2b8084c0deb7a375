/**
 * Polls the consumer group's committed offsets and the input topic's end offsets and exports
 * the difference per partition as `streamclust_consumer_lag_records{partition}`.
 *
 * Lag is read from the broker rather than from the consumer's own fetch positions: the
 * pipeline commits only after the sinks acknowledged, so committed-vs-end is exactly the work
 * a restart would have to redo, and it keeps counting when the consumer itself is stuck. The
 * admin client is taken by its shape (kafkajs' Admin fits), so metrics/ imports no Kafka code.
 * Polls never overlap; a failed poll is counted and the previous values stay until the next
 * success, since a broker blip says nothing about the lag.
 */
import type { Metrics } from './metrics.js';

export interface OffsetsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string; low: string }[]>;
  fetchOffsets(options: {
    groupId: string;
    topics: string[];
  }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

export interface ConsumerLagMonitorOptions {
  admin: OffsetsAdmin;
  metrics: Metrics;
  groupId: string;
  topic: string;
  intervalMs: number;
  onError?: (error: unknown) => void;
  /** Called after every poll that read the topic's offsets. */
  onPoll?: () => void;
}

/**
 * Records not yet committed per partition. Without a commit the group starts from the low
 * watermark (kafka.fromBeginning), so everything still retained counts.
 */
export function computeLag(
  ends: readonly { partition: number; high: string; low: string }[],
  committed: readonly { partition: number; offset: string }[],
): Map<number, number> {
  const byPartition = new Map(committed.map((c) => [c.partition, c.offset]));
  const lag = new Map<number, number>();
  for (const { partition, high, low } of ends) {
    const offset = byPartition.get(partition);
    const from = offset === undefined || BigInt(offset) < 0n ? BigInt(low) : BigInt(offset);
    const behind = BigInt(high) - from;
    lag.set(partition, Number(behind > 0n ? behind : 0n));
  }
  return lag;
}

export class ConsumerLagMonitor {
  private readonly options: ConsumerLagMonitorOptions;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private connected = false;
  private stopped = false;
  private partitions = new Set<number>();

  constructor(options: ConsumerLagMonitorOptions) {
    this.options = options;
  }

  start(): void {
    this.schedule(0);
  }

  /** One poll now; resolves when the gauges hold its result (or the error was counted). */
  async poll(): Promise<void> {
    const { admin, metrics, groupId, topic } = this.options;
    try {
      if (!this.connected) {
        await admin.connect();
        this.connected = true;
      }
      const [ends, groups] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const committed = groups.find((g) => g.topic === topic)?.partitions ?? [];
      const lag = computeLag(ends, committed);
      for (const [partition, records] of lag) {
        metrics.consumerLag.set({ partition: String(partition) }, records);
      }
      for (const gone of this.partitions) {
        if (!lag.has(gone)) metrics.consumerLag.remove({ partition: String(gone) });
      }
      this.partitions = new Set(lag.keys());
      this.options.onPoll?.();
    } catch (error) {
      metrics.consumerLagPollErrors.inc();
      this.options.onError?.(error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    if (this.connected) await this.options.admin.disconnect().catch(() => undefined);
    this.connected = false;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll().then(() => this.schedule(this.options.intervalMs));
    }, delayMs);
    // Monitoring must never keep the process alive on its own.
    this.timer.unref();
  }
}
