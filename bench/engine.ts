/**
 * The trainer engine's benchmark: records per second through the whole pipeline (synthetic
 * stream, default model, no sink) on the native `tensorflow` backend and on `wasm`, side by
 * side in one run: inference only and training, batch 256 and 1,024, 1 and 2 workers, with the
 * native / wasm and 2-worker / 1-worker ratios, the share of time the pipeline waits on workers
 * and each configuration's peak resident memory (each runs in its own process). A second table
 * measures the native backend's intra-op thread pool (TF_NUM_INTRAOP_THREADS) against its
 * default, which is how `model.workers` and the pool size were chosen; a third, the cost of the
 * network: the default against `model.kind: none`, with the seconds of each stage.
 * Run: `npm run bench -- engine` (`-- engine --cpu` adds the pure-JS cpu backend).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { EngineFigures, EngineRun } from './engine-run.js';

const exec = promisify(execFile);

type Backend = EngineRun['backend'];

async function measure(run: EngineRun, env: Record<string, string> = {}): Promise<EngineFigures> {
  const script = fileURLToPath(new URL('./engine-run.ts', import.meta.url));
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify(run)],
    { maxBuffer: 1 << 20, env: { ...process.env, ...env } },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as EngineFigures;
}

/** Whether the native backend loads here, and if not why (asked in a child process). */
async function nativeAvailability(): Promise<{ ok: boolean; description: string }> {
  const script = fileURLToPath(new URL('./engine-run.ts', import.meta.url));
  const { stdout } = await exec(process.execPath, [
    '--import',
    'tsx',
    script,
    'probe',
    'tensorflow',
  ]);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    ok: boolean;
    description: string;
  };
}

const rate = (f: EngineFigures | undefined): string =>
  f === undefined ? 'n/a' : Math.round(f.recordsPerSecond).toLocaleString('en');
const ratio = (a: EngineFigures | undefined, b: EngineFigures | undefined): string =>
  a === undefined || b === undefined ? 'n/a' : (a.recordsPerSecond / b.recordsPerSecond).toFixed(2);
const share = (f: EngineFigures | undefined): string =>
  f === undefined ? 'n/a' : `${(100 * f.workerShare).toFixed(0)} %`;
const rss = (f: EngineFigures | undefined): string =>
  f === undefined ? 'n/a' : `${(f.peakRssBytes / 2 ** 20).toFixed(0)} MiB`;

export async function runEngineBench(
  options: { quick?: boolean; cpu?: boolean } = {},
): Promise<void> {
  const native = await nativeAvailability();
  console.log(
    `\n### Trainer engine: native TensorFlow against wasm (default model, synthetic stream)\n`,
  );
  console.log(
    native.ok
      ? `Native: ${native.description}.`
      : `Native backend not available, its column reads n/a: ${native.description}`,
  );
  const backends: Backend[] = [
    ...(native.ok ? (['tensorflow'] as const) : []),
    'wasm',
    ...(options.cpu === true ? (['cpu'] as const) : []),
  ];
  const records = (backend: Backend): number =>
    // The cpu backend is an order of magnitude slower: fewer records keep the run short.
    (backend === 'cpu' ? 8_192 : 40_960) / (options.quick === true ? 4 : 1);

  const figures = new Map<string, EngineFigures>();
  const key = (b: Backend, mode: string, batch: number, workers: number): string =>
    `${b}/${mode}/${batch}/${workers}`;
  for (const training of ['off', 'every'] as const) {
    for (const batch of [256, 1024]) {
      for (const workers of [1, 2]) {
        for (const backend of backends) {
          const f = await measure({ backend, batch, workers, training, records: records(backend) });
          if (f.chosenBackend !== backend) {
            throw new Error(`asked for ${backend}, the pipeline ran on ${f.chosenBackend}`);
          }
          figures.set(key(backend, training, batch, workers), f);
          console.error(`  ${backend} ${training} batch ${batch} workers ${workers}: ${rate(f)}/s`);
        }
      }
    }
  }

  console.log(
    '\n| mode | batch | workers | tensorflow: records/s | wasm: records/s | tensorflow / wasm | tensorflow: waiting on workers | wasm: waiting on workers | tensorflow: peak RSS | wasm: peak RSS |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const training of ['off', 'every'] as const) {
    for (const batch of [256, 1024]) {
      for (const workers of [1, 2]) {
        const t = figures.get(key('tensorflow', training, batch, workers));
        const w = figures.get(key('wasm', training, batch, workers));
        console.log(
          `| ${training === 'off' ? 'inference' : 'training'} | ${batch} | ${workers} | ${rate(t)} | ${rate(w)} | ${ratio(t, w)} | ${share(t)} | ${share(w)} | ${rss(t)} | ${rss(w)} |`,
        );
      }
    }
  }

  console.log(
    '\n| backend | mode | batch | 1 worker: records/s | 2 workers: records/s | 2w / 1w |',
  );
  console.log('|---|---|---:|---:|---:|---:|');
  for (const backend of backends) {
    for (const training of ['off', 'every'] as const) {
      for (const batch of [256, 1024]) {
        const one = figures.get(key(backend, training, batch, 1));
        const two = figures.get(key(backend, training, batch, 2));
        console.log(
          `| ${backend} | ${training === 'off' ? 'inference' : 'training'} | ${batch} | ${rate(one)} | ${rate(two)} | ${ratio(two, one)} |`,
        );
      }
    }
  }

  if (native.ok) {
    // TensorFlow sizes its intra-op pool to the machine's cores by default; with several worker
    // threads each one's eager context gets such a pool. One thread each is the alternative.
    console.log(
      '\n| tensorflow, training | batch | workers | TF_NUM_INTRAOP_THREADS=1: records/s | default (one per core): records/s | default / 1 |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const batch of [256, 1024]) {
      for (const workers of [1, 2]) {
        const run = { backend: 'tensorflow' as const, batch, workers, training: 'every' as const };
        const single = await measure(
          { ...run, records: records('tensorflow') },
          { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' },
        );
        const dflt = figures.get(key('tensorflow', 'every', batch, workers));
        console.log(
          `| | ${batch} | ${workers} | ${rate(single)} | ${rate(dflt)} | ${ratio(dflt, single)} |`,
        );
      }
    }
  }
  await costOfTheNetwork(native.ok ? 'tensorflow' : 'wasm', records('wasm'));
  console.log(
    '\n"waiting on workers" is the share of wall time the pipeline spent awaiting the trainer workers; the rest is main-thread work (decode, store, drift, sinks).',
  );
}

/**
 * What the learned embedding costs: the default configuration (network, replay training,
 * pretraining, realignment) against the no-network baseline, same stream and batch, one worker,
 * with the seconds each stage took, so the note can say where the time goes.
 */
async function costOfTheNetwork(backend: Backend, records: number): Promise<void> {
  const base = { backend, batch: 256, workers: 1, records };
  const runs: [string, EngineFigures][] = [
    ['default (network, training every batch)', await measure({ ...base, training: 'every' })],
    ['network, training off', await measure({ ...base, training: 'off' })],
    ['no network (model.kind: none)', await measure({ ...base, training: 'off', kind: 'none' })],
  ];
  const none = runs[2]?.[1];
  console.log(
    `\n### Cost of the network: ${records.toLocaleString('en')} synthetic records, batch 256, 1 worker, ${backend}\n`,
  );
  console.log(
    '| configuration | records/s | ÷ no network | decode s | embed s | train s (incl. pretraining) | realign s | assign s |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, f] of runs) {
    const s = (stage: string): string => (f.stageSeconds[stage] ?? 0).toFixed(2);
    console.log(
      `| ${name} | ${rate(f)} | ${ratio(f, none)} | ${s('decode')} | ${s('worker')} | ${s('train')} | ${s('realign')} | ${s('assign')} |`,
    );
  }
}

if (process.argv[1]?.endsWith('engine.ts')) {
  await runEngineBench({
    quick: process.argv.includes('--quick'),
    cpu: process.argv.includes('--cpu'),
  });
}
