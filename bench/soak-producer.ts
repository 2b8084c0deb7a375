/**
 * The soak benchmark's load generator, run as its own process by bench/soak.ts:
 * `tsx bench/soak-producer.ts '{"brokers": [...], "topic": "...", "total": 1000000, "rate": 4000}'`.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { Kafka, Partitioners, logLevel, type Message } from 'kafkajs';

import { DriftingMixture } from '../src/sources/drifting-mixture.js';

const PARTITIONS = 3;
const DIM = 8;
// Sends what is due every few milliseconds, in requests of at most this many.
const SEND_SLICE = 2_000;

/** Sends `total` records of the seeded mixture at `rate` records per second. */
async function produce(
  brokers: string[],
  topic: string,
  total: number,
  rate: number,
): Promise<void> {
  const mixture = new DriftingMixture({
    seed: 2027,
    dim: DIM,
    clusters: 6,
    spread: 0.6,
    separation: 6,
    driftEveryRecords: 100_000,
  });
  const producer = new Kafka({
    clientId: 'streamclust-soak-producer',
    brokers,
    logLevel: logLevel.NOTHING,
  }).producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const started = Date.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
      if (due <= sent) {
        await sleep(5);
        continue;
      }
      const count = Math.min(SEND_SLICE, due - sent);
      const timestamp = String(Date.now());
      const messages: Message[] = [];
      for (let i = 0; i < count; i++) {
        const point = mixture.next();
        messages.push({
          key: `s-${sent + i}`,
          value: JSON.stringify({ features: point.features, label: point.label }),
          partition: (sent + i) % PARTITIONS,
          timestamp,
        });
      }
      // acks 1: the leader's write is enough for a benchmark's input; the pipeline's own
      // outputs keep acks from all replicas.
      await producer.send({ topic, acks: 1, messages });
      sent += count;
    }
  } finally {
    await producer.disconnect();
  }
}

const args = JSON.parse(process.argv[2] ?? '{}') as {
  brokers: string[];
  topic: string;
  total: number;
  rate: number;
};
await produce(args.brokers, args.topic, args.total, args.rate);
process.exit(0);
