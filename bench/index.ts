/**
 * `npm run bench`: every benchmark, one after the other, printing markdown tables.
 * `npm run bench -- --quick` runs smaller sizes; `npm run bench -- pipeline cluster` runs only
 * the named ones (engine, losses, cluster, ...); `--cpu` adds the pure-JS cpu backend to engine;
 * `throughput --rounds=5 --only=defaults --dims=32` repeats some of its configurations.
 */
import { runClusterBench } from './cluster.js';
import { runDecodeBench } from './decode.js';
import { runDeliveryBench } from './delivery.js';
import { runDriftBench } from './drift.js';
import { runEngineBench } from './engine.js';
import { runEvalBench } from './eval.js';
import { runLossBench } from './losses.js';
import { runThroughputBench, runThroughputProfile } from './throughput.js';

export interface BenchOptions {
  quick?: boolean;
  cpu?: boolean;
  /** Every `--name=value` argument, for the benchmark that reads it. */
  flags?: Record<string, string>;
}

const BENCHES: Record<string, (options: BenchOptions) => Promise<void>> = {
  losses: runLossBench,
  cluster: runClusterBench,
  decode: runDecodeBench,
  engine: runEngineBench,
  delivery: runDeliveryBench,
  drift: runDriftBench,
  eval: runEvalBench,
  throughput: runThroughputBench,
  'throughput-profile': runThroughputProfile,
  soak: async (options) => (await import('./soak.js')).runSoakBench(options),
  group: async (options) => (await import('./group.js')).runGroupBench(options),
};

// Stopped by a signal, exit normally: the private Kafka brokers are stopped on 'exit', which a
// signal's default action skips (they were left running).
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)
  process.once(signal, () => process.exit(code));

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flags = Object.fromEntries(
  args.flatMap((a) => {
    const m = /^--([\w-]+)=(.*)$/.exec(a);
    return m === null ? [] : [[m[1] as string, m[2] as string]];
  }),
);
const named = args.filter((a) => !a.startsWith('--'));
const unknown = named.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`,
  );
  process.exit(2);
}
const selected = named.length > 0 ? named : Object.keys(BENCHES);
console.log(
  `# streamclust benchmarks (${new Date().toISOString()}, node ${process.version}, ${quick ? 'quick' : 'full'})`,
);
for (const name of selected) {
  const started = performance.now();
  await BENCHES[name]!({ quick, cpu: args.includes('--cpu'), flags });
  console.error(`(${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

// Benchmarks may leave client handles (kafkajs, piscina) behind; the run is over.
process.exit(0);
