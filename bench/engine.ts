/**
 * The trainer engine's benchmark: records per second through the whole pipeline (synthetic
 * stream, default model, no sink), inference only and training, 1 and 2 workers, batch 256 and
 * 1,024, on every backend that loads here; the 2-worker / 1-worker ratio, the share of time the
 * pipeline waits on workers, and each configuration's peak resident memory (each runs in its
 * own process). Run: `npm run bench -- engine` (or `npx tsx bench/engine.ts`).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { EngineFigures, EngineRun } from './engine-run.js';

const exec = promisify(execFile);

function loadableBackends(): EngineRun['backend'][] {
  const require = createRequire(import.meta.url);
  const has = (name: string): boolean => {
    try {
      require.resolve(name);
      return true;
    } catch {
      return false;
    }
  };
  const native = has('@tensorflow/tfjs-node-gpu') || has('@tensorflow/tfjs-node');
  return [...(native ? (['tensorflow'] as const) : []), 'wasm', 'cpu'];
}

async function measure(run: EngineRun): Promise<EngineFigures> {
  const script = fileURLToPath(new URL('./engine-run.ts', import.meta.url));
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify(run)],
    {
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as EngineFigures;
}

export async function runEngineBench(
  options: { quick?: boolean; backends?: EngineRun['backend'][] } = {},
): Promise<void> {
  const backends = options.backends ?? loadableBackends();
  const rows: string[] = [];
  for (const backend of backends) {
    // The cpu backend is an order of magnitude slower: fewer records keep the run short.
    const records = (backend === 'cpu' ? 8_192 : 40_960) / (options.quick === true ? 4 : 1);
    for (const batch of [256, 1024]) {
      for (const training of ['off', 'every'] as const) {
        const one = await measure({ backend, batch, workers: 1, training, records });
        const two = await measure({ backend, batch, workers: 2, training, records });
        const fmt = (f: EngineFigures): string =>
          `${Math.round(f.recordsPerSecond).toLocaleString('en')} | ${(100 * f.workerShare).toFixed(0)} % | ${(f.peakRssBytes / 2 ** 20).toFixed(0)} MiB`;
        rows.push(
          `| ${one.chosenBackend} | ${batch} | ${training === 'off' ? 'inference' : 'training'} | ${fmt(one)} | ${fmt(two)} | ${(two.recordsPerSecond / one.recordsPerSecond).toFixed(2)} |`,
        );
        console.error(`  ${backend} batch ${batch} ${training}: done`);
      }
    }
  }
  console.log(
    '\n### Trainer engine: pipeline throughput by backend, batch size and workers (default model, synthetic stream)\n',
  );
  console.log(
    '| backend | batch | mode | 1 worker: records/s | waiting on workers | peak RSS | 2 workers: records/s | waiting on workers | peak RSS | 2w / 1w |',
  );
  console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(
    '\n"waiting on workers" is the share of wall time the pipeline spent awaiting the trainer workers; the rest is main-thread work (decode, store, drift, sinks).',
  );
}

if (process.argv[1]?.endsWith('engine.ts')) {
  await runEngineBench({ quick: process.argv.includes('--quick') });
}
