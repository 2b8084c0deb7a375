import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { validateConfig } from '../src/config/load-config.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';
import { KafkaBroker } from '../test/helpers/kafka-broker.js';
import { KafkaHelpers, uniqueName } from '../test/helpers/kafka.js';

/*
 * Soak: a long stream through the whole pipeline with a real broker (Kafka source, trainer
 * worker, centroid store, Kafka sinks, offset commits), to see that throughput holds, memory
 * stays flat and records do not wait longer as the run goes on.
 *
 * A producer in another process (bench/soak-producer.ts) writes the seeded drifting mixture to a
 * 3-partition topic at a fixed offered rate while the pipeline consumes it, so the latency measured is that of a
 * pipeline keeping up with its input, not the age of a backlog. Latency of a record =
 * wall-clock time its batch was assigned − its Kafka timestamp (set when it was sent); every
 * record is measured. Resident memory (RSS) is sampled when 10 %, 50 % and 100 % of the records
 * have been assigned; the broker and the producer are other processes and are not included.
 *
 * `npx tsx bench/soak.ts [--quick] [--training-off]` (1,000,000 records; --quick: 100,000;
 * --training-off: training.mode off, to tell the pipeline's own latency from training's).
 */

const PARTITIONS = 3;
const DIM = 8;

export interface SoakOptions {
  quick?: boolean;
  records?: number;
  /** Records per second offered by the producer. */
  rate?: number;
  /** Overrides of the `training` section (e.g. { mode: 'off' }); none: the defaults. */
  training?: Record<string, unknown>;
}

export interface SoakResult {
  records: number;
  seconds: number;
  rate: number;
  rss: { at10: number; at50: number; at100: number };
  latencyMs: { p50: number; p99: number; max: number };
  /** The same over the records of the second half of the run, once start-up backlog is gone. */
  steadyLatencyMs: { p50: number; p99: number; max: number };
  /** The training overrides the run used (none: the defaults). */
  training: Record<string, unknown>;
  backend: string | undefined;
  /** heapUsed/external MiB at 10, 50 and 100 % (after a full GC when --expose-gc is on). */
  heap: string[];
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
    '| training | records | seconds | records/s | RSS 10 % | RSS 50 % | RSS 100 % | RSS 100 %/10 % | latency p50 | latency p99 | latency max | second half p50 | second half p99 |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${Object.keys(result.training).length === 0 ? 'defaults' : JSON.stringify(result.training)} | ${result.records.toLocaleString('en-US')} | ${result.seconds.toFixed(1)} | ` +
      `${Math.round(result.records / result.seconds).toLocaleString('en-US')} | ` +
      `${mb(result.rss.at10)} | ${mb(result.rss.at50)} | ${mb(result.rss.at100)} | ` +
      `${(result.rss.at100 / result.rss.at10).toFixed(3)} | ${ms(result.latencyMs.p50)} | ` +
      `${ms(result.latencyMs.p99)} | ${ms(result.latencyMs.max)} | ${ms(result.steadyLatencyMs.p50)} | ${ms(result.steadyLatencyMs.p99)} |`,
  );
  console.log(
    '\nseconds: from the first record sent to the last one assigned. Latency: assignment time − Kafka timestamp (send time), every record; second half: the records assigned after the first half, once the start-up backlog (pretraining) is worked off.',
  );
  const gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  console.log(
    `JavaScript heap used / external at 10, 50, 100 % (MiB${gc ? ', after a full GC' : ''}): ${result.heap.join(', ')}`,
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
    const heap: string[] = [];
    // With --expose-gc the heap is measured after a full collection, so garbage is not
    // mistaken for a leak; RSS, which the allocator rarely returns, is reported as it is.
    const sample = (): number => {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      heap.push(`${(m.heapUsed / 2 ** 20).toFixed(0)}/${(m.external / 2 ** 20).toFixed(0)}`);
      return m.rss;
    };
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
      training: options.training ?? {},
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
              if (rss.at10 === 0 && assigned >= total * 0.1) rss.at10 = sample();
              if (rss.at50 === 0 && assigned >= total * 0.5) rss.at50 = sample();
              if (rss.at100 === 0 && assigned >= total) {
                rss.at100 = sample();
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
    const producing = produce(kafka.brokers, topic, total, rate);
    await Promise.race([done, running.then(() => Promise.reject(new Error('pipeline stopped')))]);
    await producing;
    await pipeline.stop();
    await running;

    // The second half in assignment order: pretraining's backlog (the stream keeps arriving
    // while the network pretrains on the warm-up sample) has been worked off by then.
    const steady = latencies.slice(Math.floor(total / 2)).sort();
    const sorted = latencies.sort();
    const quantile = (q: number): number =>
      sorted[Math.min(total - 1, Math.floor(q * total))] as number;
    const steadyQuantile = (q: number): number =>
      steady[Math.min(steady.length - 1, Math.floor(q * steady.length))] as number;
    return {
      records: total,
      seconds: (lastAssignedAt - started) / 1000,
      rate,
      rss,
      latencyMs: { p50: quantile(0.5), p99: quantile(0.99), max: sorted[total - 1] as number },
      steadyLatencyMs: {
        p50: steadyQuantile(0.5),
        p99: steadyQuantile(0.99),
        max: steady[steady.length - 1] as number,
      },
      training: options.training ?? {},
      backend: pipeline.status().backend,
      heap,
    };
  } finally {
    await broker.destroy();
  }
}

/**
 * Runs the producer (bench/soak-producer.ts) in its own process: the load generator's memory and
 * CPU are not the pipeline's, so the RSS sampled here is the pipeline's alone.
 */
function produce(
  brokers: readonly string[],
  topic: string,
  total: number,
  rate: number,
): Promise<void> {
  const script = fileURLToPath(new URL('./soak-producer.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify({ brokers, topic, total, rate })],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`the soak producer exited with ${code}`)),
    );
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runSoakBench({
    quick: process.argv.includes('--quick'),
    ...(process.argv.includes('--training-off') ? { training: { mode: 'off' } } : {}),
  });
}
