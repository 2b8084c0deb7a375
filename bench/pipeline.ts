/**
 * End-to-end throughput of the pipeline on the synthetic stream (no broker): records per
 * second through decode → worker (embed + train) → store → sink, per batch size, with the
 * backend that loads here. Run: `npx tsx bench/pipeline.ts` (or `npm run bench`).
 */
import { validateConfig } from '../src/config/load-config.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';

async function measure(
  batchSize: number,
  records: number,
  training: 'every' | 'off',
): Promise<{ rate: number; backend: string }> {
  const config = validateConfig({
    synthetic: {
      totalRecords: records,
      recordsPerSecond: 0,
      chunkSize: batchSize,
      driftEveryRecords: 0,
    },
    batch: { size: batchSize },
    training: { mode: training },
    http: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
  });
  const pipeline = await createPipeline(config, {
    logger: silentLogger,
    metrics: new Metrics({ defaultMetrics: false }),
    sink: { write: async () => undefined, close: async () => undefined },
  });
  const started = performance.now();
  await pipeline.run();
  const seconds = (performance.now() - started) / 1000;
  return { rate: records / seconds, backend: pipeline.status().backend ?? '?' };
}

export async function runPipelineBench(options: { quick?: boolean } = {}): Promise<void> {
  const records = options.quick === true ? 20_000 : 100_000;
  const rows: string[] = [];
  for (const batch of [256, 1024]) {
    for (const training of ['every', 'off'] as const) {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await measure(batch, records, training));
      const rates = runs.map((r) => r.rate).sort((a, b) => a - b);
      rows.push(
        `| ${batch} | ${training === 'every' ? 'train every batch' : 'inference only'} | ${runs[0]?.backend} | ${Math.round(rates[1] ?? 0).toLocaleString('en')} |`,
      );
    }
  }
  console.log(
    `\n### Pipeline throughput, synthetic stream (dim 8, k 5, ${records.toLocaleString('en')} records, median of 3)\n`,
  );
  console.log('| batch | training | backend | records/s |');
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(row);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runPipelineBench({ quick: process.argv.includes('--quick') });
}
