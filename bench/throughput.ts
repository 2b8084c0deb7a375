/**
 * Throughput against what kafkajs itself can do, on a private broker: for d = 32 and d = 256 a
 * seeded 8-cluster mixture is produced once to a 6-partition topic, then drained by
 * - the ceiling: a plain kafkajs consumer that parses every record, produces one small JSON
 *   output per input (acks -1) and commits after the send (bench/throughput-run.ts);
 * - streamclust with the defaults (training on every batch), with training off (and, to show
 *   what each gains, parsing on a worker thread, `decode.thread: worker`; without reading ahead
 *   of the outputs, `kafka.readAheadRecords: 0`; with the producer on the main thread,
 *   `kafka.producerThread: main`; without the input-drift tests, which run on the main thread),
 *   and with training on 10 % of the batches (`training.mode: fraction`).
 * Every run is a process of its own with a fresh consumer group; the configurations are
 * interleaved (A B C D, A B C D, …) so that a noisy moment of the machine does not fall on one
 * of them, and each figure is the median of the rounds. Printed per configuration: records/s,
 * the ratio to the ceiling's median, CPU microseconds per record (all threads of the process),
 * peak RSS, and for streamclust the seconds per stage, which say where the time goes.
 *
 * `npm run bench -- throughput [--quick]` (full: 3 rounds, 200,000 records at d = 32 and
 * 50,000 at d = 256; quick: 1 round, 20,000 and 5,000). Every run also reports its main
 * thread's CPU and the broker's, and the rate at which they would fill every core;
 * `throughput-profile` shows where the main thread's time goes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import kafkajs from 'kafkajs';

import { validateConfig } from '../src/config/load-config.js';
import { KafkaBroker } from '../test/helpers/kafka-broker.js';
import { mixtureRecords } from '../test/helpers/mixture-records.js';
import { readMainProfile, type ThreadProfile } from './cpu-profile.js';
import type { ThroughputFigures, ThroughputRun } from './throughput-run.js';

const exec = promisify(execFile);
const PARTITIONS = 6;
const CORES = availableParallelism();

/** Records/s if this process and the broker used every core at these CPU costs per record. */
const coreBound = (cpu: number, broker: number): number => (CORES * 1e6) / (cpu + broker);

interface Configuration {
  name: string;
  kind: ThroughputRun['kind'];
  training?: Record<string, unknown>;
  drift?: Record<string, unknown>;
  decode?: Record<string, unknown>;
  model?: Record<string, unknown>;
  kafka?: Record<string, unknown>;
}

const CONFIGURATIONS: Configuration[] = [
  { name: 'kafkajs ceiling', kind: 'ceiling' },
  { name: 'streamclust, defaults', kind: 'streamclust' },
  { name: 'streamclust, training off', kind: 'streamclust', training: { mode: 'off' } },
  // What parsing on a worker thread of its own (decode.thread: worker) gains.
  {
    name: 'streamclust, training off, parsed on a worker thread',
    kind: 'streamclust',
    training: { mode: 'off' },
    decode: { thread: 'worker' },
  },
  // What reading ahead of the outputs (kafka.readAheadRecords, 4096 by default) gains: without
  // it, no fetch is read while the records of the last one are written.
  {
    name: 'streamclust, training off, no read-ahead',
    kind: 'streamclust',
    training: { mode: 'off' },
    kafka: { readAheadRecords: 0 },
  },
  // What writing the outputs from a thread of its own (kafka.producerThread: worker) gains.
  {
    name: 'streamclust, training off, producer on the main thread',
    kind: 'streamclust',
    training: { mode: 'off' },
    kafka: { producerThread: 'main' },
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

/** A configuration's overrides of streamclust's sections, as a run carries them. */
function overrides({ name: _, kind: __, ...sections }: Configuration): Partial<ThroughputRun> {
  return sections;
}

export async function measure(
  run: ThroughputRun,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<ThroughputFigures> {
  const script = fileURLToPath(new URL('./throughput-run.ts', import.meta.url));
  const { stdout } = await exec(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', script, JSON.stringify(run)],
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

/**
 * Flags (`npm run bench -- throughput --rounds=5 --only=defaults,training off --dims=32`):
 * `rounds`, configurations whose name contains one of `only` (the ceiling always runs), and
 * which dimensions: to settle a difference smaller than one run's noise with more rounds.
 */
export async function runThroughputBench(
  options: { quick?: boolean; flags?: Record<string, string> } = {},
): Promise<void> {
  const quick = options.quick === true;
  const flags = options.flags ?? {};
  const rounds = Number(flags['rounds'] ?? (quick ? 1 : 3));
  const only = flags['only']?.split(',');
  const configurations = CONFIGURATIONS.filter(
    (c, i) => i === 0 || only === undefined || only.some((o) => c.name.includes(o)),
  );
  const dims = flags['dims']?.split(',').map(Number);
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
      if (dims !== undefined && !dims.includes(dim)) continue;
      const topic = `throughput-d${dim}`;
      const producing = performance.now();
      await produceTopic(broker.brokers, topic, dim, count);
      console.error(
        `throughput: ${count.toLocaleString('en')} records at d = ${dim} produced in ${((performance.now() - producing) / 1000).toFixed(1)} s`,
      );
      const results = new Map<string, ThroughputFigures[]>();
      for (let round = 0; round < rounds; round++) {
        for (const [index, c] of configurations.entries()) {
          const figures = await measure({
            kind: c.kind,
            brokers: broker.brokers,
            topic,
            records: count,
            group: `tp-d${dim}-r${round}-c${index}`,
            ...(broker.pid === undefined ? {} : { brokerPid: broker.pid }),
            ...overrides(c),
          });
          console.error(
            `throughput: d = ${dim}, round ${round + 1}, ${c.name}: ${Math.round(figures.recordsPerSecond).toLocaleString('en')} records/s`,
          );
          results.set(c.name, [...(results.get(c.name) ?? []), figures]);
        }
      }
      print(dim, count, rounds, configurations, results);
    }
  } finally {
    await broker.destroy();
  }
}

function print(
  dim: number,
  count: number,
  rounds: number,
  configurations: Configuration[],
  results: Map<string, ThroughputFigures[]>,
): void {
  const ceiling = median(
    (results.get(configurations[0]!.name) ?? []).map((f) => f.recordsPerSecond),
  );
  const backend = [...results.values()].flat().find((f) => f.backend !== undefined)?.backend;
  console.log(
    `\n### Throughput at d = ${dim}: ${count.toLocaleString('en')} records, ${PARTITIONS} partitions, batch.size ${validateConfig({}).batch.size}, median of ${rounds} interleaved round(s), backend ${backend ?? '?'}\n`,
  );
  console.log(
    `| configuration | records/s (median) | runs | ratio to ceiling | CPU µs / record | of which main thread | broker CPU µs / record | ${CORES}-core bound records/s | ÷ bound | peak RSS | start-up s |`,
  );
  console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of configurations) {
    const runs = results.get(c.name) ?? [];
    const rate = median(runs.map((f) => f.recordsPerSecond));
    const cpu = median(runs.map((f) => f.cpuMicrosecondsPerRecord));
    const main = median(runs.map((f) => f.mainThreadCpuMicrosecondsPerRecord ?? Number.NaN));
    const broker = median(runs.map((f) => f.brokerCpuMicrosecondsPerRecord ?? Number.NaN));
    const bound = coreBound(cpu, broker);
    console.log(
      `| ${c.name} | ${Math.round(rate).toLocaleString('en')} | ${runs.map((f) => Math.round(f.recordsPerSecond).toLocaleString('en')).join(' / ')} | ${(rate / ceiling).toFixed(2)} | ${cpu.toFixed(0)} | ${main.toFixed(0)} | ${broker.toFixed(0)} | ${Math.round(bound).toLocaleString('en')} | ${(rate / bound).toFixed(2)} | ${(median(runs.map((f) => f.peakRssBytes)) / 2 ** 20).toFixed(0)} MiB | ${median(runs.map((f) => f.startSeconds)).toFixed(1)} |`,
    );
  }
  console.log(
    `\nThe ${CORES}-core bound is the rate at which the process and the broker together would use every core: ${CORES} × 10⁶ / (CPU µs + broker CPU µs per record). A ratio to it near 1 says the machine's cores, not a wait, set the rate.`,
  );
  console.log(
    '\nRates are of the steady state: from the first output written to the last; start-up (first record read to first output: backend, warm-up sample, pretraining) is shown apart.',
  );
  console.log('\nWhere streamclust spends the time (median run, seconds summed over batches):\n');
  const stages = ['decode', 'drift', 'worker', 'assign', 'sink', 'train', 'realign', 'checkpoint'];
  console.log(`| configuration | drain s | batches | ${stages.join(' | ')} |`);
  console.log(`|---|---:|---:|${stages.map(() => '---:').join('|')}|`);
  for (const c of configurations.slice(1)) {
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

/**
 * `npm run bench -- throughput --profile [--quick]`: one run each of the ceiling, the defaults
 * and training off, under `node --cpu-prof`, and where each thread's CPU went over the steady
 * state, per record: what bounds a configuration, beside the broker's share. Profiling itself
 * costs a few per cent of CPU, so its rates are not the table's.
 */
export async function runThroughputProfile(options: { quick?: boolean } = {}): Promise<void> {
  const sizes: [number, number][] =
    options.quick === true
      ? [
          [32, 20_000],
          [256, 5_000],
        ]
      : [
          [32, 200_000],
          [256, 50_000],
        ];
  const profiled = CONFIGURATIONS.filter((c) =>
    [
      'kafkajs ceiling',
      'streamclust, defaults',
      'streamclust, training off',
      'streamclust, training off, parsed on a worker thread',
    ].includes(c.name),
  );
  const broker = await KafkaBroker.start();
  const root = await mkdtemp(path.join(tmpdir(), 'streamclust-profile-'));
  try {
    for (const [dim, count] of sizes) {
      const topic = `profile-d${dim}`;
      await produceTopic(broker.brokers, topic, dim, count);
      for (const [index, c] of profiled.entries()) {
        const dir = path.join(root, `d${dim}-c${index}`);
        const figures = await measure(
          {
            kind: c.kind,
            brokers: broker.brokers,
            topic,
            records: count,
            group: `profile-d${dim}-c${index}`,
            ...(broker.pid === undefined ? {} : { brokerPid: broker.pid }),
            ...overrides(c),
          },
          {},
          ['--cpu-prof', `--cpu-prof-dir=${dir}`],
        );
        const profile = readMainProfile(dir, figures.steadyMicroseconds);
        printProfile(dim, c.name, { ...figures, ...(profile === undefined ? {} : { profile }) });
      }
    }
  } finally {
    await broker.destroy();
    await rm(root, { recursive: true, force: true });
  }
}

function printProfile(
  dim: number,
  name: string,
  figures: ThroughputFigures & { profile?: ThreadProfile },
): void {
  const records = figures.recordsPerSecond * figures.seconds;
  const cpu = figures.cpuMicrosecondsPerRecord;
  const main = figures.mainThreadCpuMicrosecondsPerRecord ?? Number.NaN;
  const broker = figures.brokerCpuMicrosecondsPerRecord ?? Number.NaN;
  const bound = coreBound(cpu, broker);
  console.log(
    `\n### d = ${dim}, ${name}: ${Math.round(figures.recordsPerSecond).toLocaleString('en')} records/s over ${figures.seconds.toFixed(1)} s\n`,
  );
  console.log('| CPU µs per record (/proc) | |\n|---|---:|');
  console.log(`| main thread | ${main.toFixed(0)} |`);
  console.log(
    `| other threads (workers, TensorFlow's pools, GC helpers) | ${(cpu - main).toFixed(0)} |`,
  );
  console.log(`| **process** | ${cpu.toFixed(0)} |`);
  console.log(`| broker | ${broker.toFixed(0)} |`);
  console.log(
    `| ${CORES}-core bound: ${CORES} × 10⁶ / (process + broker) | ${Math.round(bound).toLocaleString('en')} records/s, the rate is ${(figures.recordsPerSecond / bound).toFixed(2)} of it |`,
  );
  const profile = figures.profile;
  if (profile === undefined) return;
  const perRecord = (us: number): string => (us / records).toFixed(1);
  const busy = [...profile.categories.values()].reduce((a, b) => a + b, 0);
  console.log(
    `\nMain thread, V8 profile over the steady state (self time; busy ${((100 * busy) / Math.max(1, profile.sampled)).toFixed(0)} % of it):\n`,
  );
  console.log('| code | µs per record |\n|---|---:|');
  for (const [cat, us] of [...profile.categories.entries()].sort((x, y) => y[1] - x[1])) {
    if (us / records >= 0.05) console.log(`| ${cat} | ${perRecord(us)} |`);
  }
  console.log(`| **busy** | ${perRecord(busy)} |`);
  console.log('\nHeaviest functions of the main thread (self time, µs per record):');
  for (const [fn, us] of [...profile.functions.entries()].sort((x, y) => y[1] - x[1]).slice(0, 20))
    console.log(`- ${perRecord(us)}  ${fn}`);
}

if (process.argv[1]?.endsWith('throughput.ts')) {
  await runThroughputBench({ quick: process.argv.includes('--quick') });
  process.exit(0);
}
