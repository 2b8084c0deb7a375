/**
 * The cost of exactly-once delivery: the same topic drained by the pipeline with
 * `kafka.delivery: at-least-once` and `exactly-once` against a private broker, reporting records
 * per second and the median batch duration (decode to acknowledged outputs) of each.
 * Run: `npm run bench -- delivery`.
 */
import { Kafka, logLevel } from 'kafkajs';

import { validateConfig } from '../src/config/load-config.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';
import { KafkaBroker } from '../test/helpers/kafka-broker.js';
import { mixtureRecords } from '../test/helpers/mixture-records.js';

async function drain(
  brokers: string,
  topic: string,
  delivery: 'at-least-once' | 'exactly-once',
  total: number,
) {
  const config = validateConfig({
    source: 'kafka',
    kafka: {
      brokers: [brokers],
      inputTopic: topic,
      groupId: `bench-${delivery}`,
      assignmentsTopic: `${topic}-out-${delivery}`,
      deadLetterTopic: `${topic}-dlq-${delivery}`,
      eventsTopic: `${topic}-events-${delivery}`,
      delivery,
      transactionalId: `bench-${delivery}`,
      lagIntervalMs: 0,
    },
    cluster: { k: 5 },
    http: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
  });
  const metrics = new Metrics({ defaultMetrics: false });
  let done = 0;
  const pipeline = await createPipeline(config, {
    logger: silentLogger,
    metrics,
    observers: [{ onBatch: (r) => (done += r.records.length) }],
  });
  const started = performance.now();
  const running = pipeline.run();
  while (done < total) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  const backend = pipeline.status().backend ?? '?';
  await pipeline.stop();
  await running;
  const h = await metrics.batchDuration.get();
  const count =
    h.values.find((v) => v.metricName === 'streamclust_batch_duration_seconds_count')?.value ?? 0;
  const sum =
    h.values.find((v) => v.metricName === 'streamclust_batch_duration_seconds_sum')?.value ?? 0;
  return {
    recordsPerSecond: total / seconds,
    meanBatchMs: (1000 * sum) / Math.max(1, count),
    backend,
  };
}

export async function runDeliveryBench(options: { quick?: boolean } = {}): Promise<void> {
  const total = options.quick === true ? 10_000 : 40_000;
  const broker = await KafkaBroker.start();
  try {
    const kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'delivery-bench', numPartitions: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const { records } = mixtureRecords({ count: total, clusters: 5, dim: 8, seed: 5 });
    for (let i = 0; i < records.length; i += 5000) {
      const messages = records
        .slice(i, i + 5000)
        .map((r, j) => ({ key: r.key ?? null, value: r.value as string, partition: (i + j) % 3 }));
      await producer.send({ topic: 'delivery-bench', messages });
    }
    await producer.disconnect();
    const alo = await drain(broker.brokers, 'delivery-bench', 'at-least-once', total);
    const eos = await drain(broker.brokers, 'delivery-bench', 'exactly-once', total);
    console.log(
      `\n### Delivery modes: ${total.toLocaleString('en')} records, 3 partitions, batch 256, one broker on this machine, backend ${alo.backend}\n`,
    );
    console.log('| delivery | records/s | mean batch duration (ms) |');
    console.log('|---|---:|---:|');
    console.log(
      `| at-least-once | ${Math.round(alo.recordsPerSecond).toLocaleString('en')} | ${alo.meanBatchMs.toFixed(1)} |`,
    );
    console.log(
      `| exactly-once | ${Math.round(eos.recordsPerSecond).toLocaleString('en')} | ${eos.meanBatchMs.toFixed(1)} |`,
    );
    console.log(
      `\nexactly-once / at-least-once throughput: ${(eos.recordsPerSecond / alo.recordsPerSecond).toFixed(2)}`,
    );
  } finally {
    await broker.destroy();
  }
}

if (process.argv[1]?.endsWith('delivery.ts')) {
  await runDeliveryBench({ quick: process.argv.includes('--quick') });
  process.exit(0);
}
