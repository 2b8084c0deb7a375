import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { Partitioners, type Message } from 'kafkajs';

import { validateConfig } from '../src/config/load-config.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';
import { DriftingMixture } from '../src/sources/drifting-mixture.js';
import { KafkaBroker } from '../test/helpers/kafka-broker.js';
import { KafkaHelpers, uniqueName } from '../test/helpers/kafka.js';

/*
 * Soak: a long stream through the whole pipeline with a real broker (Kafka source, trainer
 * worker, centroid store, Kafka sinks, offset commits), to see that throughput holds, memory
 * stays flat and records do not wait longer as the run goes on.
 *
 * A producer in this process writes the seeded drifting mixture to a 3-partition topic at a
 * fixed offered rate while the pipeline consumes it, so the latency measured is that of a
 * pipeline keeping up with its input, not the age of a backlog. Latency of a record =
 * wall-clock time its batch was assigned − its Kafka timestamp (set when it was sent); every
 * record is measured. Resident memory (RSS) is sampled when 10 %, 50 % and 100 % of the records
 * have been assigned; the broker is another process and is not included.
 *
 * `npx tsx bench/soak.ts [--quick]` (1,000,000 records; --quick: 100,000).
 */

const PARTITIONS = 3;
const DIM = 8;
// The producer sends what is due every few milliseconds, in requests of at most this many.
const SEND_SLICE = 2_000;

export interface SoakOptions {
  quick?: boolean;
  records?: number;
  /** Records per second offered by the producer. */
  rate?: number;
}

export interface SoakResult {
  records: number;
  seconds: number;
  rate: number;
  rss: { at10: number; at50: number; at100: number };
  latencyMs: { p50: number; p99: number; max: number };
  backend: string | undefined;
}

export async function runSoakBench(options: SoakOptions = {}): Promise<void> {
  const result = await soak(options);
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const ms = (v: number): string => `${v.toFixed(0)} ms`;
  console.log(
    `## Soak: ${result.records.toLocaleString('en-US')} records through the pipeline with a Kafka broker ` +
      `(offered ${result.rate.toLocaleString('en-US')} records/s, ${PARTITIONS} partitions, d = ${DIM}, backend ${result.backend ?? '-'})\n`,
  );
  console.log(
    '| records | seconds | records/s | RSS 10 % | RSS 50 % | RSS 100 % | RSS 100 %/10 % | latency p50 | latency p99 | latency max |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${result.records.toLocaleString('en-US')} | ${result.seconds.toFixed(1)} | ` +
      `${Math.round(result.records / result.seconds).toLocaleString('en-US')} | ` +
      `${mb(result.rss.at10)} | ${mb(result.rss.at50)} | ${mb(result.rss.at100)} | ` +
      `${(result.rss.at100 / result.rss.at10).toFixed(3)} | ${ms(result.latencyMs.p50)} | ` +
      `${ms(result.latencyMs.p99)} | ${ms(result.latencyMs.max)} |`,
  );
  console.log(
    '\nseconds: from the first record sent to the last one assigned. Latency: assignment time − Kafka timestamp (send time), every record.',
  );
}

export async function soak(options: SoakOptions = {}): Promise<SoakResult> {
  const total = options.records ?? (options.quick === true ? 100_000 : 1_000_000);
  const rate = options.rate ?? 4_000;
  const broker = await KafkaBroker.start({ heapMb: 1024 });
  try {
    const kafka = new KafkaHelpers(broker.brokers);
    const topic = uniqueName('soak-input');
    await kafka.createTopic(topic, PARTITIONS);

    const latencies = new Float64Array(total);
    let assigned = 0;
    const rss = { at10: 0, at50: 0, at100: 0 };
    let lastAssignedAt = 0;
    let allAssigned = (): void => {};
    const done = new Promise<void>((resolve) => (allAssigned = resolve));
    const config = validateConfig({
      source: 'kafka',
      kafka: {
        brokers: kafka.brokers,
        inputTopic: topic,
        groupId: uniqueName('soak-group'),
        assignmentsTopic: uniqueName('soak-assignments'),
        deadLetterTopic: uniqueName('soak-dead-letter'),
        eventsTopic: uniqueName('soak-events'),
        lagIntervalMs: 0,
      },
      cluster: { k: 8 },
      http: { enabled: false },
      log: { level: 'silent', statusIntervalMs: 0 },
    });
    const pipeline = await createPipeline(config, {
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
      observers: [
        {
          onBatch: (report) => {
            for (const record of report.records) {
              // At-least-once may deliver a record twice; without faults it does not, and a
              // stray duplicate only adds one more sample.
              if (assigned < total) latencies[assigned] = report.at - record.timestamp;
              assigned += 1;
              if (rss.at10 === 0 && assigned >= total * 0.1) rss.at10 = process.memoryUsage().rss;
              if (rss.at50 === 0 && assigned >= total * 0.5) rss.at50 = process.memoryUsage().rss;
              if (rss.at100 === 0 && assigned >= total) {
                rss.at100 = process.memoryUsage().rss;
                lastAssignedAt = report.at;
                allAssigned();
              }
            }
          },
        },
      ],
    });
    const running = pipeline.run();
    const started = Date.now();
    const producing = produce(kafka, topic, total, rate);
    await Promise.race([done, running.then(() => Promise.reject(new Error('pipeline stopped')))]);
    await producing;
    await pipeline.stop();
    await running;

    const sorted = latencies.sort();
    const quantile = (q: number): number =>
      sorted[Math.min(total - 1, Math.floor(q * total))] as number;
    return {
      records: total,
      seconds: (lastAssignedAt - started) / 1000,
      rate,
      rss,
      latencyMs: { p50: quantile(0.5), p99: quantile(0.99), max: sorted[total - 1] as number },
      backend: pipeline.status().backend,
    };
  } finally {
    await broker.destroy();
  }
}

/** Sends `total` records of the seeded mixture at `rate` records per second. */
async function produce(
  kafka: KafkaHelpers,
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
  const producer = kafka.createKafka('streamclust-soak-producer').producer({
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runSoakBench({ quick: process.argv.includes('--quick') });
}
