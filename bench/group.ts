/**
 * A consumer group sharing one state (sync.enabled, src/pipeline/group-sync.ts):
 *
 * 1. Throughput with 1, 2 and 3 instances (separate `streamclust run` processes, one consumer
 *    group, sync on) draining one pre-produced 6-partition topic of a seeded 8-cluster mixture
 *    at d = 32, beside as many processes with sync off (each then learns alone: what several
 *    processes on one machine cost without sync, and so what sync itself costs). Rounds are
 *    interleaved; each figure is the median. Time runs from the moment every instance serves
 *    (its store started) until the group committed the end offsets. All instances share this machine's cores
 *    (named in the output): more instances here measure the cost of sync, not the gain of more
 *    machines.
 * 2. Bytes per sync round as a function of k, d and the network size: real messages of the
 *    state topic (state/group-state.ts), encoded as the instances encode them, from stores fed
 *    real points and weights of the real shapes; and the leader's cost to fold one delta.
 * 3. A paper estimate at 100 instances from those measured costs.
 *
 * `npm run bench -- group [--quick] [--parts=throughput,modes,sizes]` (full: 3 rounds of
 * 60,000 records and 3 seeds; quick: 1 round of 20,000 and 1 seed).
 */
import { availableParallelism, cpus } from 'node:os';

import kafkajs from 'kafkajs';

import { OnlineKMeans } from '../src/cluster/online-k-means.js';
import {
  addStats,
  deltaToJson,
  emptyDelta,
  statsFor,
  deltaFromJson,
} from '../src/cluster/store-delta.js';
import { pack } from '../src/model/model-state.js';
import { modelStateToJson } from '../src/model/model-state.js';
import {
  GROUP_STATE_FORMAT,
  GROUP_STATE_FORMAT_VERSION,
  encodeGroupMessage,
  type DeltaMessage,
  type GlobalState,
} from '../src/state/group-state.js';
import {
  agreement,
  assignSample,
  clustersOf,
  groupArgs,
  groupMixture,
  nmiOf,
  startInstance,
  waitForGroupAgreement,
} from '../test/helpers/group-instances.js';
import {
  pipelineTopics,
  produceInSlices,
  waitForEndCommitted,
} from '../test/helpers/fault-records.js';
import { KafkaHelpers, waitFor } from '../test/helpers/kafka.js';
import { KafkaBroker } from '../test/helpers/kafka-broker.js';
import type { BenchOptions } from './index.js';
import { produceTopic } from './throughput.js';

const INTERVAL_MS = 2_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function runGroupBench(options: BenchOptions): Promise<void> {
  const quick = options.quick === true;
  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(`\n## Group sync (sync.enabled)\n`);
  console.log(`Machine: ${availableParallelism()} cores (${cpu}); every instance runs on them.\n`);
  // `--parts=throughput,modes,sizes` runs some of the three.
  const parts = (options.flags?.['parts'] ?? 'throughput,modes,sizes').split(',');
  if (parts.includes('throughput')) await throughput(quick ? 20_000 : 60_000, quick ? 1 : 3);
  if (parts.includes('modes')) await networkModes(quick ? [31] : [31, 37, 41]);
  if (parts.includes('sizes')) messageSizes();
}

interface GroupRun {
  name: string;
  instances: number;
  sync: boolean;
}

const RUNS: GroupRun[] = [
  { name: '1 instance, sync off (baseline)', instances: 1, sync: false },
  { name: '1 instance, sync on', instances: 1, sync: true },
  { name: '2 instances, sync off', instances: 2, sync: false },
  { name: '2 instances, sync on', instances: 2, sync: true },
  { name: '3 instances, sync off', instances: 3, sync: false },
  { name: '3 instances, sync on', instances: 3, sync: true },
];

async function throughput(count: number, rounds: number): Promise<void> {
  const broker = await KafkaBroker.start();
  try {
    const topic = `group-bench-${Date.now()}`;
    await produceTopic(broker.brokers, topic, 32, count);
    const rates = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const run of RUNS) {
        const rate = await drain(broker.brokers, topic, count, run, round);
        rates.set(run.name, [...(rates.get(run.name) ?? []), rate]);
        console.error(`[group] ${run.name}, round ${round + 1}: ${Math.round(rate)} records/s`);
      }
    }
    const base = median(rates.get(RUNS[0]!.name)!);
    console.log(
      `${count.toLocaleString('en')} records, d = 32, 6 partitions, sync.intervalMs ${INTERVAL_MS}, ${rounds} round(s); records/s from the moment every instance serves to the end\n`,
    );
    console.log('| configuration | records/s (median) | rounds | ÷ 1 instance, sync off |');
    console.log('|---|---:|---|---:|');
    for (const run of RUNS) {
      const r = rates.get(run.name)!;
      console.log(
        `| ${run.name} | ${Math.round(median(r)).toLocaleString('en')} | ${r.map((x) => Math.round(x).toLocaleString('en')).join(' / ')} | ${(median(r) / base).toFixed(2)} |`,
      );
    }
  } finally {
    await broker.destroy();
  }
}

/** Records/s of `run.instances` processes draining the topic in a fresh group. */
async function drain(
  brokers: string,
  topic: string,
  count: number,
  run: GroupRun,
  round: number,
): Promise<number> {
  const group = `group-bench-${run.instances}-${run.sync}-${round}-${Date.now()}`;
  const args = [
    'run',
    '--source',
    'kafka',
    '--brokers',
    brokers,
    '--topic',
    topic,
    '--group',
    group,
    '--port',
    '0',
    '--set',
    `sync.enabled=${run.sync}`,
    '--set',
    `sync.intervalMs=${INTERVAL_MS}`,
    '--set',
    `kafka.assignmentsTopic=${group}-assignments`,
    '--set',
    `kafka.deadLetterTopic=${group}-dead-letters`,
    '--set',
    `kafka.eventsTopic=${group}-events`,
    '--set',
    'kafka.sessionTimeoutMs=10000',
  ];
  const kafka = new kafkajs.Kafka({ brokers: [brokers], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const instances = await Promise.all(
    Array.from({ length: run.instances }, () => startInstance(args)),
  );
  const committed = async (): Promise<number> => {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return offsets!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  };
  try {
    // Timed from the moment every instance serves (its store started: the leader's seeded,
    // the others' taken from the state topic) to the end, counting the records committed in
    // between: the steady state, without the start-up (warm-up, pretraining, joins).
    await waitFor(
      async () =>
        (await Promise.all(instances.map(clustersOf))).every((c) => c.ready) ||
        (await committed()) >= count,
      { timeoutMs: 300_000, intervalMs: 100, message: () => `${run.name}: never served` },
    );
    const from = performance.now();
    const before = await committed();
    for (;;) {
      if ((await committed()) >= count) break;
      const dead = instances.find((i) => i.cli.child.exitCode !== null);
      if (dead !== undefined)
        throw new Error(`an instance exited early: ${dead.cli.stderr().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return (count - before) / ((performance.now() - from) / 1000);
  } finally {
    for (const i of instances) i.cli.child.kill('SIGTERM');
    await Promise.all(instances.map((i) => i.cli.exited));
    await admin.disconnect();
  }
}

interface ModeRun {
  name: string;
  instances: number;
  sync: boolean;
  extra: string[];
}

const MODES: ModeRun[] = [
  { name: '1 instance, sync off', instances: 1, sync: false, extra: [] },
  { name: '3 instances, network: leader (default)', instances: 3, sync: true, extra: [] },
  {
    name: '3 instances, network: average',
    instances: 3,
    sync: true,
    extra: ['--set', 'sync.network=average'],
  },
  // Steps spent as records arrive: the same number of steps in one process and in a group,
  // however the cores are shared (the background schedule trains as much as CPU allows).
  {
    name: '1 instance, sync off, training.schedule inline',
    instances: 1,
    sync: false,
    extra: ['--set', 'training.schedule=inline'],
  },
  {
    name: '3 instances, network: leader, training.schedule inline',
    instances: 3,
    sync: true,
    extra: ['--set', 'training.schedule=inline'],
  },
];

/**
 * sync.network leader against average: per seed a fresh 6-partition topic of the overlapping
 * 5-cluster mixture of the group tests (24,000 records, produced once the group is stable),
 * then a held-out sample of 2,000 through every instance (POST /assign): NMI against the labels
 * and the agreement of the instances' ids, with the single instance beside them.
 */
async function networkModes(seeds: number[]): Promise<void> {
  const broker = await KafkaBroker.start();
  const kafka = new KafkaHelpers(broker.brokers.split(','));
  const rows = new Map<
    string,
    { nmi: number[]; agreement: number[]; seconds: number[]; steps: number[] }
  >();
  try {
    for (const seed of seeds) {
      const { records, sample } = groupMixture(24_000, 2_000, seed);
      for (const mode of MODES) {
        const topics = pipelineTopics(`group-mode-${seed}`);
        await kafka.createTopic(topics.inputTopic, 6);
        const args = groupArgs(broker.brokers, topics, mode.sync, INTERVAL_MS, mode.extra);
        const instances = await Promise.all(
          Array.from({ length: mode.instances }, () => startInstance(args)),
        );
        try {
          await waitFor(
            async () => {
              const g = await kafka.groupMembers(topics.groupId);
              return g.state === 'Stable' && g.members === mode.instances;
            },
            { timeoutMs: 120_000, intervalMs: 250 },
          );
          const started = performance.now();
          await produceInSlices(kafka, topics.inputTopic, records);
          await waitForEndCommitted(kafka, topics.groupId, topics.inputTopic, {
            timeoutMs: 600_000,
            message: () => `${mode.name} did not finish`,
          });
          const seconds = (performance.now() - started) / 1000;
          if (mode.sync) await waitForGroupAgreement(instances, 120_000);
          const ids = await Promise.all(instances.map((i) => assignSample(i, sample)));
          const steps = await Promise.all(instances.map(trainingSteps));
          const row = rows.get(mode.name) ?? { nmi: [], agreement: [], seconds: [], steps: [] };
          row.steps.push(steps.reduce((a, b) => a + b, 0));
          row.nmi.push(...ids.map((x) => nmiOf(x, sample)));
          row.agreement.push(...ids.slice(1).map((x) => agreement(ids[0]!, x)));
          row.seconds.push(seconds);
          rows.set(mode.name, row);
          console.error(`[group] ${mode.name}, seed ${seed}: ${seconds.toFixed(1)} s`);
        } finally {
          for (const i of instances) i.cli.child.kill('SIGTERM');
          await Promise.all(instances.map((i) => i.cli.exited));
        }
      }
    }
  } finally {
    await broker.destroy();
  }
  const spread = (xs: number[]): string =>
    xs.length === 0
      ? '–'
      : `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;
  console.log(
    `\nsync.network: leader against average (24,000 records, 8 features, 5 overlapping clusters, seeds ${seeds.join(', ')}; held-out 2,000; training as in the group tests: training.pretrain.epochs 5, training.replayRatio 1)\n`,
  );
  console.log(
    '| configuration | NMI, median (min–max) over instances and seeds | ids agreeing with instance 1 | seconds to drain | training steps (all instances) |',
  );
  console.log('|---|---|---|---:|---|');
  for (const mode of MODES) {
    const r = rows.get(mode.name)!;
    console.log(
      `| ${mode.name} | ${spread(r.nmi)} | ${spread(r.agreement)} | ${median(r.seconds).toFixed(1)} | ${r.steps.join(' / ')} |`,
    );
  }
}

async function trainingSteps(instance: { url: string }): Promise<number> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  return Number(/^streamclust_training_steps_total (\S+)$/m.exec(text)?.[1] ?? 0);
}

/** Parameters of the default MLP shape for input d_in: encoder and decoder, weights and biases. */
function layerShapes(inputDim: number, hidden: number[], embeddingDim: number): number[][] {
  const widths = [inputDim, ...hidden, embeddingDim];
  const shapes: number[][] = [];
  for (let i = 0; i + 1 < widths.length; i++)
    shapes.push([widths[i]!, widths[i + 1]!], [widths[i + 1]!]);
  const back = [...widths].reverse();
  for (let i = 0; i + 1 < back.length; i++) shapes.push([back[i]!, back[i + 1]!], [back[i + 1]!]);
  return shapes;
}

function messageSizes(): void {
  console.log(
    "\nBytes per sync round (real messages, JSON as published) and the leader's fold of one delta\n",
  );
  console.log(
    '| k | d (embedding) | network (input → hidden → d) | parameters | global state | one delta | fold one delta |',
  );
  console.log('|---:|---:|---|---:|---:|---:|---:|');
  // The default network is input → 256 → 32 (model.hiddenLayers, model.embeddingDim).
  const cases: { k: number; d: number; input: number; hidden: number[] }[] = [
    { k: 8, d: 32, input: 32, hidden: [256] },
    { k: 64, d: 32, input: 32, hidden: [256] },
    { k: 512, d: 32, input: 32, hidden: [256] },
    { k: 64, d: 8, input: 32, hidden: [256] },
    { k: 64, d: 128, input: 32, hidden: [256] },
    { k: 64, d: 32, input: 256, hidden: [512, 256] },
    { k: 64, d: 32, input: 1024, hidden: [1024, 512] },
  ];
  for (const c of cases) {
    const { global, delta, foldMs, parameters } = measureCase(c);
    console.log(
      `| ${c.k} | ${c.d} | ${c.input} → ${c.hidden.join(' → ')} → ${c.d} | ${parameters.toLocaleString('en')} | ${kib(global)} | ${kib(delta)} | ${foldMs.toFixed(2)} ms |`,
    );
  }
  const base = measureCase(cases[1]!);
  const n = 100;
  const globalMiB = base.global / 2 ** 20;
  const deltaMiB = base.delta / 2 ** 20;
  console.log(
    `\nPaper estimate for ${n} instances (k = 64, d = 32, the default network 32 → 256 → 32; sync.intervalMs ${INTERVAL_MS}):`,
  );
  console.log(
    `- written per round: 1 global state (${kib(base.global)}) + ${n - 1} deltas (${kib(base.delta)} each) = ${(globalMiB + (n - 1) * deltaMiB).toFixed(2)} MiB;`,
  );
  console.log(
    `- read per round: every instance reads the whole topic, ${n} × that = ${(n * (globalMiB + (n - 1) * deltaMiB)).toFixed(1)} MiB, i.e. ${((n * (globalMiB + (n - 1) * deltaMiB)) / (INTERVAL_MS / 1000)).toFixed(1)} MiB/s from the broker (quadratic in the instances: the deltas are read by all, though only the leader needs them);`,
  );
  console.log(
    `- leader's fold of ${n - 1} deltas per round: ${((n - 1) * base.foldMs).toFixed(1)} ms; convergence lag: a record's statistics reach every instance within about two intervals (its delta waits up to one, the leader's round up to one more) plus the fold and a publish, about ${((2 * INTERVAL_MS + (n - 1) * base.foldMs) / 1000).toFixed(1)} s.`,
  );
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

function measureCase(c: { k: number; d: number; input: number; hidden: number[] }) {
  const store = new OnlineKMeans({ k: c.k, dim: c.d, seed: 1, warmupSize: c.k * 10 });
  const points = new Float32Array(c.k * 10 * c.d).map((_, i) => Math.sin(i * 12.9898) * 4);
  store.observe(points);
  const delta = emptyDelta(c.d);
  const batch = new Float32Array(1024 * c.d).map((_, i) => Math.cos(i * 78.233) * 4);
  store.statsListener = (stats) => addStats(delta, stats);
  store.update(batch);
  store.statsListener = undefined;
  const shapes = layerShapes(c.input, c.hidden, c.d);
  const parameters = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  const variables = pack(
    shapes.map((shape, i) => ({
      name: `layer${i}`,
      shape,
      values: new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, j) => Math.sin(j)),
    })),
  );
  const global: GlobalState = {
    kind: 'global',
    format: GROUP_STATE_FORMAT,
    formatVersion: GROUP_STATE_FORMAT_VERSION,
    configDigest: 'x'.repeat(64),
    term: 1,
    epoch: 1,
    leader: 'host-0123abcd',
    publishedAtMs: Date.now(),
    store: store.snapshot(),
    decoder: {
      count: 1000,
      mean: Array(c.input).fill(0.5),
      m2: Array(c.input).fill(2),
      dim: c.input,
    },
    model: modelStateToJson({ version: 1, variables, optimizer: pack([]) }),
    folded: { 'host-1-0123abcd': 1 },
    records: 1000,
  };
  const message: DeltaMessage = {
    kind: 'delta',
    format: GROUP_STATE_FORMAT,
    formatVersion: GROUP_STATE_FORMAT_VERSION,
    instance: 'host-1-0123abcd',
    sentAtMs: Date.now(),
    entries: [{ seq: 1, delta: deltaToJson(delta) }],
  };
  const json = message.entries[0]!.delta;
  const reps = 50;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const { stats } = statsFor(deltaFromJson(json), store.statsBase());
    store.merge(stats);
  }
  const foldMs = (performance.now() - t0) / reps;
  return {
    global: encodeGroupMessage(global).length,
    delta: encodeGroupMessage(message).length,
    foldMs,
    parameters,
  };
}
