/**
 * The policy for a record batch the consumer cannot read: compressed with a codec this build
 * lacks, or with bytes the codec rejects. kafkajs decodes a broker's whole fetch response at
 * once and gives up on all of it without naming the partition or offset that failed, and a
 * retry would fetch the same bytes. So the consumer is not restarted: the source fails with a
 * RefusedError and streamclust exits 69, after one error line that names the topic, the partitions this instance
 * was reading with the group's committed offset of each (the batch starts at or after one of
 * them), the codec and the way out. Restarting without a fix stops the same way.
 */
import type { Consumer, Kafka } from 'kafkajs';

import type { Config } from '../config/schema.js';
import { RefusedError } from '../errors.js';
import type { Logger } from '../log.js';
import { unreadableCodec } from '../kafka/codecs.js';

/** How long the committed offsets may take before the error is logged without them. */
const OFFSETS_TIMEOUT_MS = 5_000;

/**
 * Returns the function the consumer's crash handler calls with the crash's error: for an
 * unreadable batch it logs the report and returns the RefusedError the source fails with; for
 * anything else it returns undefined. Never rejects.
 */
export function unreadableBatchReporter(
  kafka: Kafka,
  consumer: Consumer,
  config: Config['kafka'],
  logger: Logger,
): (error: unknown) => Promise<RefusedError | undefined> {
  let assigned: number[] = [];
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    assigned = [...(payload.memberAssignment[config.inputTopic] ?? [])].sort((a, b) => a - b);
  });
  return async (error) => {
    const codec = unreadableCodec(error);
    if (codec === undefined) return undefined;
    // Offsets only: a lookup that fails or hangs must not keep the source from failing.
    const committed = await committedOffsets(kafka, config).catch(() => undefined);
    const at = (partition: number): string => {
      const offset = committed?.get(partition);
      return offset === undefined ? 'unknown' : offset === '-1' ? 'none-committed' : offset;
    };
    const partitions = assigned.map((p) => `${p}@${at(p)}`).join(',') || 'unknown';
    const fix =
      codec === 'snappy' || codec === 'lz4' || codec === 'zstd' || codec === 'gzip'
        ? `the ${codec} bytes of that batch are corrupt: find it with kafka-console-consumer.sh ` +
          '--partition P --offset O, then, with streamclust stopped, move the group past it: ' +
          `kafka-consumer-groups.sh --group ${config.groupId} --topic ${config.inputTopic}:P ` +
          '--reset-offsets --to-offset <next offset> --execute'
        : `this build cannot decompress ${codec}; upgrade streamclust, or have the producers ` +
          'use gzip, snappy, lz4, zstd or none';
    logger.error('a record batch cannot be read; stopping', {
      topic: config.inputTopic,
      group: config.groupId,
      // partition@committed offset: the unreadable batch is at or after one of these.
      partitions,
      codec,
      error: error instanceof Error ? error.message : String(error),
      fix,
    });
    return new RefusedError(
      `a record batch of ${config.inputTopic} (partitions@committed ${partitions}) cannot be read ` +
        `(${error instanceof Error ? error.message : codec}). Fix: ${fix}`,
      { cause: error },
    );
  };
}

async function committedOffsets(
  kafka: Kafka,
  config: Config['kafka'],
): Promise<Map<number, string>> {
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), OFFSETS_TIMEOUT_MS);
    });
    const lookup = async (): Promise<Map<number, string>> => {
      await admin.connect();
      const [result] = await admin.fetchOffsets({
        groupId: config.groupId,
        topics: [config.inputTopic],
      });
      return new Map((result?.partitions ?? []).map((p) => [p.partition, p.offset]));
    };
    return await Promise.race([lookup(), timeout]);
  } finally {
    clearTimeout(timer);
    // Not awaited: after a timeout the connection may hang as well.
    void admin.disconnect().catch(() => undefined);
  }
}
