import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { evaluateLabelledFile } from '../src/eval/evaluate-labelled-file.js';

/*
 * Quality benchmark: NMI / ARI / clustering accuracy after 1 and after 5 replay passes over
 * five labelled data sets (digits, wine, iris and breast cancer from the scikit-learn package,
 * and streamclust's synthetic drifting stream), for
 * - streamclust's default configuration, run exactly as `streamclust evaluate --file X
 *   --passes 5` runs it (k = number of labels, warm-up at most one pass);
 * - streamclust without a network (`model.kind: none`: the store clusters the scaled input), the
 *   baseline inside the product;
 * - scikit-learn's MiniBatchKMeans (partial_fit, batches of 256, file order, scored the same
 *   prequential way) on the raw features and on features standardised with the first 1,000
 *   records' statistics, and batch KMeans (n_init 10) on the raw features as the offline
 *   reference.
 * Every row is repeated over the same 3 seeds and shown as mean ± standard deviation. The
 * scikit-learn rows are computed in the same run by scripts/reference/eval-baselines.py when
 * python3 with scikit-learn is there, else read from its committed output (the table says which).
 * The verdicts under the table compare means at pass 5.
 *
 * `npm run bench -- eval [--quick]` (quick: 1 seed, 2 passes)
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const EVAL_DATASETS = [
  'digits',
  'wine',
  'synthetic-drift',
  'iris',
  'breast-cancer',
] as const;
type Metric = 'nmi' | 'ari' | 'accuracy';
type Scores = Record<Metric, number>;

interface Baselines {
  sklearn: string;
  passes: number;
  seeds: number[];
  datasets: Record<
    string,
    {
      k: number;
      n: number;
      runs: Record<
        'miniBatchKMeans' | 'miniBatchKMeansScaled' | 'kMeans',
        Record<string, Scores>[]
      >;
    }
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

/** Mean and sample standard deviation. */
function spread(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const sd =
    values.length < 2
      ? 0
      : Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return { mean, sd };
}

const cell = (values: number[]): string => {
  if (values.length === 0) return '–';
  const { mean, sd } = spread(values);
  return values.length > 1 ? `${mean.toFixed(3)} ± ${sd.toFixed(3)}` : mean.toFixed(3);
};

interface Row {
  method: string;
  /** Per seed: the scores at pass 1 and at the last pass (or 'all' for batch KMeans). */
  first: Scores[];
  last: Scores[];
}

function line(dataset: string, row: Row): string {
  const at = (runs: Scores[], m: Metric): number[] => runs.map((r) => r[m]);
  return `| ${dataset} | ${row.method} | ${cell(at(row.first, 'nmi'))} | ${cell(at(row.last, 'nmi'))} | ${cell(at(row.last, 'ari'))} | ${cell(at(row.last, 'accuracy'))} |`;
}

function scoresOf(values: Record<string, unknown> | undefined): Scores {
  const get = (key: Metric): number => {
    const v = values?.[key];
    return typeof v === 'number' ? v : Number.NaN;
  };
  return { nmi: get('nmi'), ari: get('ari'), accuracy: get('accuracy') };
}

export async function runEvalBench(options: { quick?: boolean } = {}): Promise<void> {
  const quick = options.quick === true;
  const passes = quick ? 2 : 5;
  const { baselines, origin } = loadBaselines();
  const seeds = quick ? [0] : baselines.seeds;
  const configs: [string, Record<string, unknown>][] = [
    ['streamclust default', {}],
    ['streamclust, no network (model.kind: none)', { model: { kind: 'none' } }],
  ];
  const lines: string[] = [];
  const verdicts: string[] = [];
  const timings: string[] = [];
  for (const dataset of EVAL_DATASETS) {
    const rows: Row[] = [];
    for (const [name, overrides] of configs) {
      const row: Row = { method: name, first: [], last: [] };
      let seconds = 0;
      let backend: string | null = null;
      for (const seed of seeds) {
        const run = await evaluateLabelledFile({
          path: `${ROOT}/test/fixtures/datasets/${dataset}.csv`,
          passes,
          overrides,
          seed,
        });
        row.first.push(scoresOf(run.perPass[0]?.values));
        row.last.push(scoresOf(run.perPass[passes - 1]?.values));
        seconds += run.seconds;
        backend = run.backend;
      }
      rows.push(row);
      timings.push(
        `${dataset}, ${name}: ${(seconds / seeds.length).toFixed(1)} s per ${passes}-pass run (${backend ?? 'no network'})`,
      );
      console.error(`eval: ${dataset}, ${name} done`);
    }
    const reference = baselines.datasets[dataset];
    if (reference !== undefined) {
      const pick = (runs: Record<string, Scores>[], key: string): Scores[] =>
        runs
          .slice(0, seeds.length)
          .map((r) => scoresOf(r[key] as unknown as Record<string, unknown>));
      const p = `pass${baselines.passes}`;
      rows.push({
        method: 'MiniBatchKMeans partial_fit, raw features',
        first: pick(reference.runs.miniBatchKMeans, 'pass1'),
        last: pick(reference.runs.miniBatchKMeans, p),
      });
      rows.push({
        method: 'MiniBatchKMeans partial_fit, standardised (first 1,000)',
        first: pick(reference.runs.miniBatchKMeansScaled, 'pass1'),
        last: pick(reference.runs.miniBatchKMeansScaled, p),
      });
      rows.push({
        method: 'KMeans (batch, n_init 10, raw), offline',
        first: [],
        last: pick(reference.runs.kMeans, 'all'),
      });
    }
    for (const row of rows) lines.push(line(dataset, row));
    verdicts.push(verdict(dataset, rows));
  }
  console.log(`\n## Quality: prequential scores after 1 and after ${passes} replay passes\n`);
  console.log(
    `Each batch is assigned before it updates anything; batch 256, file order; mean ± sd over seeds ${seeds.join(', ')}. Baselines ${origin}.\n`,
  );
  console.log(
    `| data set | method | NMI, pass 1 | NMI, pass ${passes} | ARI, pass ${passes} | accuracy, pass ${passes} |`,
  );
  console.log('|---|---|---:|---:|---:|---:|');
  for (const l of lines) console.log(l);
  console.log('');
  for (const v of verdicts) console.log(v);
  console.log(`\n${timings.join('\n')}`);
}

/** One line per data set: does the default beat both MiniBatchKMeans rows and its own baseline? */
function verdict(dataset: string, rows: Row[]): string {
  const mean = (row: Row | undefined): number =>
    row === undefined ? Number.NaN : spread(row.last.map((s) => s.nmi)).mean;
  const [main, none, raw, scaled] = rows;
  const best = Math.max(mean(raw), mean(scaled));
  const gap = mean(main) - best;
  const noneGap = mean(main) - mean(none);
  const seedSpread = Math.max(
    spread((main?.last ?? []).map((s) => s.nmi)).sd,
    spread((none?.last ?? []).map((s) => s.nmi)).sd,
  );
  const vsMbk =
    gap > 0
      ? `beats the better MiniBatchKMeans row by ${gap.toFixed(3)} NMI`
      : `BEHIND the better MiniBatchKMeans row by ${(-gap).toFixed(3)} NMI`;
  const vsNone =
    noneGap >= -seedSpread
      ? `no-network baseline ${noneGap >= 0 ? '+' : ''}${noneGap.toFixed(3)}`
      : `BELOW the no-network baseline by ${(-noneGap).toFixed(3)} (> seed spread ${seedSpread.toFixed(3)})`;
  return `- ${dataset}: default ${mean(main).toFixed(3)}: ${vsMbk}; ${vsNone}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runEvalBench({ quick: process.argv.includes('--quick') });
}
