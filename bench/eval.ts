import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { validateConfig } from '../src/config/load-config.js';
import type { MetricSet } from '../src/eval/metric-set.js';
import { scanLabels } from '../src/eval/label-scan.js';
import { runEvaluation } from '../src/eval/run-evaluation.js';
import { silentLogger } from '../src/log.js';
import { createFileSource } from '../src/sources/file-source.js';
import { replayPasses } from '../src/sources/replay-source.js';

/*
 * Evaluation benchmark: NMI / ARI / clustering accuracy of streamclust after 1 and after 5
 * replay passes over digits, wine and the synthetic drifting stream, beside scikit-learn's
 * MiniBatchKMeans (partial_fit, same batch size 256, same order, same k, scored the same
 * prequential way) and batch KMeans on the same features. streamclust runs exactly as
 * `streamclust evaluate --file X --passes 5` does: its default configuration with the
 * evaluation defaults (k = number of labels, warm-up at most one pass); a second row sets
 * decode.standardize=false (raw features). The baselines are computed in the same run by
 * scripts/reference/eval-baselines.py when python3 with scikit-learn is there, else read from
 * its committed output (the table says which).
 *
 * `npm run bench -- eval [--quick]` (quick: 2 passes, default configuration only)
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATASETS = ['digits', 'wine', 'synthetic-drift'] as const;

interface Scores {
  nmi: number;
  ari: number;
  accuracy: number;
}

interface Baselines {
  sklearn: string;
  passes: number;
  datasets: Record<
    string,
    { miniBatchKMeans: Record<string, Scores>; kMeans: Scores; k: number; n: number }
  >;
}

function loadBaselines(): { baselines: Baselines; origin: string } {
  const script = 'scripts/reference/eval-baselines.py';
  const run = spawnSync('python3', [script, '--stdout'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (run.status === 0) {
    const baselines = JSON.parse(run.stdout) as Baselines;
    return {
      baselines,
      origin: `computed in this run by ${script} (scikit-learn ${baselines.sklearn})`,
    };
  }
  const committed = 'test/fixtures/reference/eval-baselines.json';
  const baselines = JSON.parse(readFileSync(`${ROOT}/${committed}`, 'utf8')) as Baselines;
  const why = run.error?.message ?? run.stderr.trim().split('\n').at(-1) ?? `exit ${run.status}`;
  return {
    baselines,
    origin: `read from the committed ${committed} (scikit-learn ${baselines.sklearn}): running ${script} failed: ${why}`,
  };
}

async function streamclust(
  dataset: string,
  passes: number,
  extra: Record<string, unknown>,
): Promise<{ perPass: MetricSet[]; seconds: number; backend: string | null; k: number }> {
  const path = `${ROOT}/test/fixtures/datasets/${dataset}.csv`;
  const file = { path, format: 'csv' as const, chunkSize: 256 };
  const scan = await scanLabels(createFileSource(file, 'label', 4), 'label');
  const defaults = validateConfig({});
  const config = validateConfig({
    ...extra,
    source: 'file',
    file,
    http: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
    cluster: {
      k: scan.labels.size,
      warmupSize: Math.min(defaults.cluster.warmupSize, scan.records),
    },
  });
  const source = replayPasses('file', passes, () =>
    createFileSource(config.file, 'label', config.batch.maxInFlight),
  );
  const { report } = await runEvaluation({
    command: 'evaluate',
    config,
    source,
    data: { kind: 'file', name: dataset, recordsPerPass: scan.records },
    choices: {
      mode: 'train',
      passes,
      windowRecords: scan.records,
      k: config.cluster.k,
      kSource: 'labels',
      warmupSize: config.cluster.warmupSize,
      labelField: 'label',
      checkpoint: null,
    },
    reportDir: undefined,
    logger: silentLogger,
    sampleSize: 500,
    silhouetteSample: 500,
    tsnePoints: 0,
    tsneIterations: 0,
  });
  return {
    perPass: report.passes.map((p) => p.metrics),
    seconds: report.summary.seconds,
    backend: report.backend,
    k: config.cluster.k,
  };
}

const cell = (v: number | null | undefined): string =>
  v === null || v === undefined ? '–' : v.toFixed(3);

function row(dataset: string, method: string, passes: string, s: Partial<Scores>): string {
  return `| ${dataset} | ${method} | ${passes} | ${cell(s.nmi)} | ${cell(s.ari)} | ${cell(s.accuracy)} |`;
}

export async function runEvalBench(options: { quick?: boolean } = {}): Promise<void> {
  const passes = options.quick === true ? 2 : 5;
  const configs: [string, Record<string, unknown>][] = [['default', {}]];
  if (options.quick !== true) configs.push(['raw features', { decode: { standardize: false } }]);
  const lines: string[] = [];
  const timings: string[] = [];
  const { baselines, origin } = loadBaselines();
  for (const dataset of DATASETS) {
    for (const [name, extra] of configs) {
      const result = await streamclust(dataset, passes, extra);
      const at = (pass: number): Partial<Scores> => {
        const v = result.perPass[pass - 1]?.values ?? {};
        const scores: Partial<Scores> = {};
        for (const key of ['nmi', 'ari', 'accuracy'] as const) {
          const value = v[key];
          if (typeof value === 'number') scores[key] = value;
        }
        return scores;
      };
      lines.push(row(dataset, `streamclust (${name}, k = ${result.k})`, '1', at(1)));
      lines.push(
        row(dataset, `streamclust (${name}, k = ${result.k})`, String(passes), at(passes)),
      );
      timings.push(
        `${dataset} ${name}: ${result.seconds.toFixed(1)} s for ${passes} passes on ${result.backend ?? '?'}`,
      );
    }
    const reference = baselines.datasets[dataset];
    if (reference === undefined) continue;
    const mbk = reference.miniBatchKMeans;
    lines.push(row(dataset, 'MiniBatchKMeans partial_fit', '1', mbk['pass1'] ?? {}));
    lines.push(
      row(
        dataset,
        'MiniBatchKMeans partial_fit',
        String(baselines.passes),
        mbk[`pass${baselines.passes}`] ?? {},
      ),
    );
    lines.push(row(dataset, 'KMeans (batch, n_init 10)', 'all', reference.kMeans));
  }
  console.log('\n## Evaluation: NMI / ARI / accuracy after 1 and after N replay passes\n');
  console.log(
    'Prequential scores of the pass (each batch assigned before it updates the model), batch 256, file order.',
  );
  console.log(`Baselines ${origin}.\n`);
  console.log('| data set | method | passes | NMI | ARI | accuracy |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const line of lines) console.log(line);
  console.log(`\n${timings.join('; ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runEvalBench({ quick: process.argv.includes('--quick') });
}
