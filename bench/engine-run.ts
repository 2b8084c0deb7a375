/**
 * One engine benchmark configuration, run in its own process so its peak memory is its own:
 * `tsx bench/engine-run.ts '{"backend":"wasm","batch":256,"workers":2,"training":"every","records":50000}'`
 * prints one JSON line with the figures; `tsx bench/engine-run.ts probe tensorflow` prints whether
 * that backend loads and why not. bench/engine.ts runs the grid.
 */
import { validateConfig } from '../src/config/load-config.js';
import { silentLogger } from '../src/log.js';
import { describeChoice, selectBackend } from '../src/model/backend.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';

export interface EngineRun {
  backend: 'tensorflow' | 'wasm' | 'cpu';
  batch: number;
  workers: number;
  training: 'every' | 'off';
  records: number;
  /** model.kind: the default network, or none (the store clusters the scaled input). */
  kind?: 'mlp' | 'none';
}

export interface EngineFigures extends EngineRun {
  chosenBackend: string;
  /** How the backend was chosen, as the pipeline logs it (provider, GPU or CPU). */
  backendDescription: string;
  recordsPerSecond: number;
  seconds: number;
  /** Share of the wall time the pipeline waited on the workers (the rest is main-thread work). */
  workerShare: number;
  /** Seconds in each stage (worker = embedding the arriving batches, train, realign, …). */
  stageSeconds: Record<string, number>;
  peakRssBytes: number;
}

async function sumOf(metrics: Metrics, stage: string): Promise<number> {
  const data = await metrics.stageDuration.get();
  return data.values
    .filter(
      (v) =>
        v.metricName === 'streamclust_stage_duration_seconds_sum' && v.labels['stage'] === stage,
    )
    .reduce((s, v) => s + v.value, 0);
}

export async function runEngineConfiguration(run: EngineRun): Promise<EngineFigures> {
  const config = validateConfig({
    synthetic: {
      totalRecords: run.records,
      recordsPerSecond: 0,
      chunkSize: run.batch,
      driftEveryRecords: 0,
    },
    batch: { size: run.batch },
    model: { backend: run.backend, workers: run.workers, kind: run.kind ?? 'mlp' },
    training: { mode: run.training },
    http: { enabled: false },
    drift: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
  });
  const metrics = new Metrics({ defaultMetrics: false });
  let backendDescription = '?';
  // The pipeline logs its backend choice at info; keep that line, drop the rest.
  const logger = {
    ...silentLogger,
    info: (message: string) => {
      if (message.startsWith('backend ')) backendDescription = message;
    },
  };
  const pipeline = await createPipeline(config, {
    logger,
    metrics,
    sink: { write: async () => undefined, close: async () => undefined },
  });
  const started = performance.now();
  await pipeline.run();
  const seconds = (performance.now() - started) / 1000;
  return {
    ...run,
    chosenBackend: pipeline.status().backend ?? '?',
    backendDescription,
    recordsPerSecond: run.records / seconds,
    seconds,
    workerShare: (await sumOf(metrics, 'worker')) / seconds,
    stageSeconds: Object.fromEntries(
      await Promise.all(
        ['decode', 'worker', 'train', 'realign', 'assign', 'sink'].map(
          async (stage) => [stage, await sumOf(metrics, stage)] as const,
        ),
      ),
    ),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Whether a backend loads, asked in a process of its own (loading the addon is for good). */
export async function probeBackend(
  request: EngineRun['backend'],
): Promise<{ ok: boolean; description: string }> {
  const tf = await import('@tensorflow/tfjs');
  try {
    return { ok: true, description: describeChoice(await selectBackend(tf, request)) };
  } catch (error) {
    return { ok: false, description: (error as Error).message };
  }
}

if (process.argv[1]?.endsWith('engine-run.ts') && process.argv[2] === 'probe') {
  const request = (process.argv[3] ?? 'tensorflow') as EngineRun['backend'];
  process.stdout.write(JSON.stringify(await probeBackend(request)) + '\n');
  process.exit(0);
}

if (process.argv[1]?.endsWith('engine-run.ts')) {
  const run = JSON.parse(process.argv[2] ?? '{}') as EngineRun;
  process.stdout.write(JSON.stringify(await runEngineConfiguration(run)) + '\n');
  process.exit(0);
}
