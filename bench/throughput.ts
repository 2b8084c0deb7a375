/**
 * Throughput against what kafkajs itself can do, on a private broker: for d = 32 and d = 256 a
 * seeded 8-cluster mixture is produced once to a 6-partition topic, then drained by
 * - the ceiling: a plain kafkajs consumer that parses every record, produces one small JSON
 *   output per input (acks -1) and commits after the send (bench/throughput-run.ts);
 * - streamclust with the defaults (training on every batch), with training off (and parsing on
 *   a worker thread, `decode.thread: worker`, and without the input-drift tests, which run on
 *   the main thread), and with training on 10 % of the batches (`training.mode: fraction`).
 * Every run is a process of its own with a fresh consumer group; the configurations are
 * interleaved (A B C D, A B C D, …) so that a noisy moment of the machine does not fall on one
 * of them, and each figure is the median of the rounds. Printed per configuration: records/s,
 * the ratio to the ceiling's median, CPU microseconds per record (all threads of the process),
 * peak RSS, and for streamclust the seconds per stage, which say where the time goes.
 *
 * `npm run bench -- throughput [--quick]` (full: 3 rounds, 200,000 records at d = 32 and
 * 50,000 at d = 256; quick: 1 round, 20,000 and 5,000).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import kafkajs from 'kafkajs';

import { validateConfig } from '../src/config/load-config.js';
import { KafkaBroker } from '../test/helpers/kafka-broker.js';
import { mixtureRecords } from '../test/helpers/mixture-records.js';
import type { ThroughputFigures, ThroughputRun } from './throughput-run.js';

const exec = promisify(execFile);
const PARTITIONS = 6;

interface Configuration {
  name: string;
  kind: ThroughputRun['kind'];
  training?: Record<string, unknown>;
  drift?: Record<string, unknown>;
  decode?: Record<string, unknown>;
  /** Environment of the run's process (TensorFlow reads its thread pools' sizes from it). */
  env?: Record<string, string>;
}

const CONFIGURATIONS: Configuration[] = [
  { name: 'kafkajs ceiling', kind: 'ceiling' },
  { name: 'streamclust, defaults', kind: 'streamclust' },
  // TensorFlow's intra-op pool has a thread per core; on 2 cores it competes with the main
  // thread and the broker. One thread each for the trainer and the embedder:
  {
    name: 'streamclust, defaults, TF_NUM_INTRAOP_THREADS=1',
    kind: 'streamclust',
    env: { TF_NUM_INTRAOP_THREADS: '1' },
  },
  { name: 'streamclust, training off', kind: 'streamclust', training: { mode: 'off' } },
  {
    name: 'streamclust, training off, TF_NUM_INTRAOP_THREADS=1',
    kind: 'streamclust',
    training: { mode: 'off' },
    env: { TF_NUM_INTRAOP_THREADS: '1' },
  },
  // What parsing on a worker thread of its own (decode.thread: worker) gains.
  {
    name: 'streamclust, training off, parsed on a worker thread',
    kind: 'streamclust',
    training: { mode: 'off' },
    decode: { thread: 'worker' },
  },
  // What the input-drift tests cost on the main thread, which bounds training off.
  {
    name: 'streamclust, training off, no input-drift tests',
    kind: 'streamclust',
    training: { mode: 'off' },
    drift: { input: { enabled: false } },
  },
  {
    name: 'streamclust, training on 10 % of batches',
    kind: 'streamclust',
    training: { mode: 'fraction', fraction: 0.1 },
  },
];

export async function measure(
  run: ThroughputRun,
  env: Record<string, string> = {},
): Promise<ThroughputFigures> {
  const script = fileURLToPath(new URL('./throughput-run.ts', import.meta.url));
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify(run)],
    {
      maxBuffer: 1 << 20,
      timeout: 900_000,
      env: { ...process.env, ...env },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ThroughputFigures;
}

export async function produceTopic(brokers: string, topic: string, dim: number, count: number) {
  const kafka = new kafkajs.Kafka({ brokers: [brokers], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const { records } = mixtureRecords({ count, clusters: 8, dim, seed: 14 });
  const perSend = Math.max(200, Math.floor(2_000_000 / (dim * 20)));
  for (let i = 0; i < records.length; i += perSend) {
    const messages = records.slice(i, i + perSend).map((r, j) => ({
      key: r.key ?? null,
      value: r.value as string,
      partition: (i + j) % PARTITIONS,
    }));
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export async function runThroughputBench(options: { quick?: boolean } = {}): Promise<void> {
  const quick = options.quick === true;
  const rounds = quick ? 1 : 3;
  const sizes: [number, number][] = quick
    ? [
        [32, 20_000],
        [256, 5_000],
      ]
    : [
        [32, 200_000],
        [256, 50_000],
      ];
  const broker = await KafkaBroker.start();
  try {
    for (const [dim, count] of sizes) {
      const topic = `throughput-d${dim}`;
      const producing = performance.now();
      await produceTopic(broker.brokers, topic, dim, count);
      console.error(
        `throughput: ${count.toLocaleString('en')} records at d = ${dim} produced in ${((performance.now() - producing) / 1000).toFixed(1)} s`,
      );
      const results = new Map<string, ThroughputFigures[]>();
      for (let round = 0; round < rounds; round++) {
        for (const [index, c] of CONFIGURATIONS.entries()) {
          const figures = await measure(
            {
              kind: c.kind,
              brokers: broker.brokers,
              topic,
              records: count,
              group: `tp-d${dim}-r${round}-c${index}`,
              ...(c.training === undefined ? {} : { training: c.training }),
              ...(c.drift === undefined ? {} : { drift: c.drift }),
              ...(c.decode === undefined ? {} : { decode: c.decode }),
            },
            c.env,
          );
          console.error(
            `throughput: d = ${dim}, round ${round + 1}, ${c.name}: ${Math.round(figures.recordsPerSecond).toLocaleString('en')} records/s`,
          );
          results.set(c.name, [...(results.get(c.name) ?? []), figures]);
        }
      }
      print(dim, count, rounds, results);
    }
  } finally {
    await broker.destroy();
  }
}

function print(
  dim: number,
  count: number,
  rounds: number,
  results: Map<string, ThroughputFigures[]>,
): void {
  const ceiling = median(
    (results.get(CONFIGURATIONS[0]!.name) ?? []).map((f) => f.recordsPerSecond),
  );
  const backend = [...results.values()].flat().find((f) => f.backend !== undefined)?.backend;
  console.log(
    `\n### Throughput at d = ${dim}: ${count.toLocaleString('en')} records, ${PARTITIONS} partitions, batch.size ${validateConfig({}).batch.size}, median of ${rounds} interleaved round(s), backend ${backend ?? '?'}\n`,
  );
  console.log(
    '| configuration | records/s (median) | runs | ratio to ceiling | CPU µs / record | peak RSS | start-up s |',
  );
  console.log('|---|---:|---|---:|---:|---:|---:|');
  for (const c of CONFIGURATIONS) {
    const runs = results.get(c.name) ?? [];
    const rate = median(runs.map((f) => f.recordsPerSecond));
    console.log(
      `| ${c.name} | ${Math.round(rate).toLocaleString('en')} | ${runs.map((f) => Math.round(f.recordsPerSecond).toLocaleString('en')).join(' / ')} | ${(rate / ceiling).toFixed(2)} | ${median(runs.map((f) => f.cpuMicrosecondsPerRecord)).toFixed(0)} | ${(median(runs.map((f) => f.peakRssBytes)) / 2 ** 20).toFixed(0)} MiB | ${median(runs.map((f) => f.startSeconds)).toFixed(1)} |`,
    );
  }
  console.log(
    '\nRates are of the steady state: from the first output written to the last; start-up (first record read to first output: backend, warm-up sample, pretraining) is shown apart.',
  );
  console.log('\nWhere streamclust spends the time (median run, seconds summed over batches):\n');
  const stages = ['decode', 'drift', 'worker', 'assign', 'sink', 'train', 'realign', 'checkpoint'];
  console.log(`| configuration | drain s | batches | ${stages.join(' | ')} |`);
  console.log(`|---|---:|---:|${stages.map(() => '---:').join('|')}|`);
  for (const c of CONFIGURATIONS.slice(1)) {
    const runs = [...(results.get(c.name) ?? [])].sort(
      (a, b) => a.recordsPerSecond - b.recordsPerSecond,
    );
    const mid = runs[Math.floor(runs.length / 2)];
    if (mid === undefined) continue;
    const s = mid.stageSeconds ?? {};
    console.log(
      `| ${c.name} | ${mid.seconds.toFixed(1)} | ${mid.batches ?? '?'} | ${stages.map((st) => (s[st] ?? 0).toFixed(1)).join(' | ')} |`,
    );
  }
}

if (process.argv[1]?.endsWith('throughput.ts')) {
  await runThroughputBench({ quick: process.argv.includes('--quick') });
  process.exit(0);
}
