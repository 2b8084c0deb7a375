/**
 * One evaluation run over a labelled CSV file, exactly as `streamclust evaluate --file X
 * --passes N` runs it: the default configuration with the evaluation defaults (k = the number
 * of labels, warm-up at most one pass), plus the given overrides and seed. The quality
 * benchmark (`npm run bench -- eval`) and the quality tests both call it, so the figures they
 * print and assert come from the same code path a user runs.
 */
import { validateConfig } from '../config/load-config.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { createFileSource } from '../sources/file-source.js';
import { replayPasses } from '../sources/replay-source.js';
import { scanLabels } from './label-scan.js';
import type { MetricSet } from './metric-set.js';
import { runEvaluation } from './run-evaluation.js';

export interface LabelledFileRun {
  /** Prequential metrics of each pass. */
  perPass: MetricSet[];
  seconds: number;
  backend: string | null;
  clusteredSpace: 'embedding' | 'input';
  k: number;
  records: number;
}

export interface LabelledFileOptions {
  path: string;
  passes: number;
  /** Configuration overrides (deep-merged over the defaults), e.g. { model: { kind: 'none' } }. */
  overrides?: Record<string, unknown>;
  /** Shifts every seed of the run (network, store, replay, positives) by this much. */
  seed?: number;
  logger?: Logger;
}

export async function evaluateLabelledFile(options: LabelledFileOptions): Promise<LabelledFileRun> {
  const file = { path: options.path, format: 'csv' as const, chunkSize: 256 };
  const scan = await scanLabels(createFileSource(file, 'label', 4), 'label');
  const defaults = validateConfig({});
  const shift = options.seed ?? 0;
  const config = validateConfig(
    deepMerge(
      {
        source: 'file',
        file,
        http: { enabled: false },
        log: { level: 'silent', statusIntervalMs: 0 },
        model: { seed: defaults.model.seed + shift },
        training: { schedule: 'inline' },
        batch: { size: file.chunkSize },
        losses: { positives: { seed: defaults.losses.positives.seed + shift } },
        cluster: {
          k: scan.labels.size,
          warmupSize: Math.min(defaults.cluster.warmupSize, scan.records),
          seed: defaults.cluster.seed + shift,
        },
      },
      options.overrides ?? {},
    ),
  );
  const source = replayPasses('file', options.passes, () =>
    createFileSource(config.file, 'label', config.batch.maxInFlight),
  );
  const { report } = await runEvaluation({
    command: 'evaluate',
    config,
    source,
    data: { kind: 'file', name: options.path, recordsPerPass: scan.records },
    choices: {
      mode: 'train',
      passes: options.passes,
      windowRecords: scan.records,
      k: config.cluster.k,
      kSource: 'labels',
      warmupSize: config.cluster.warmupSize,
      labelField: 'label',
      checkpoint: null,
    },
    reportDir: undefined,
    logger: options.logger ?? silentLogger,
    sampleSize: 500,
    silhouetteSample: 500,
    tsnePoints: 0,
    tsneIterations: 0,
  });
  return {
    perPass: report.passes.map((p) => p.metrics),
    seconds: report.summary.seconds,
    backend: report.backend,
    clusteredSpace: report.clusteredSpace,
    k: config.cluster.k,
    records: scan.records,
  };
}

type Tree = Record<string, unknown>;

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : (value as unknown);
  }
  return out;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
