/**
 * What `evaluate` and `replay` do once they know their source: scan the data once (records per
 * pass, labels), settle k, the warm-up and the window, say what was chosen, run the pipeline
 * with a progress bar, write the report and print the per-pass metrics.
 */
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { DataRange, EvaluationReport } from '../eval/evaluation-report.js';
import { scanLabels } from '../eval/label-scan.js';
import { readCheckpoint } from '../state/checkpoint.js';
import { resolveFileSource } from '../sources/csv-file.js';
import { runEvaluation } from '../eval/run-evaluation.js';
import { createLogger, type Logger } from '../log.js';
import { replayPasses } from '../sources/replay-source.js';
import type { Source } from '../sources/source.js';
import { evaluationConfig, userSetKeys, type EvaluationFlags } from './evaluation-flags.js';
import { createProgressBar } from './progress-bar.js';
import { badData, EXIT_BAD_DATA, invalidLines } from './run-summary.js';

export interface SessionOptions {
  command: EvaluationReport['command'];
  flags: EvaluationFlags;
  /** Configuration the command derives from its own flags (source, file, topic...). */
  overrides: Record<string, unknown>;
  kind: Source['kind'];
  data: Omit<DataRange, 'recordsPerPass'>;
  /** A fresh source for one read of the data; pass 0 is the scan. */
  openPass: (config: Config, logger: Logger, pass: number) => Source;
}

/**
 * `--checkpoint dir` starts the model, optimiser, store and decoder from the checkpoint the run
 * command wrote there (never writing one back: an evaluation must not move a live job's state);
 * `--frozen` also turns training off and freezes the store (cluster.frozen: it assigns without
 * updating), so every window is scored against exactly the checkpoint's model and centroids.
 */
function checkpointOverrides(flags: EvaluationFlags): Record<string, unknown> {
  if (flags.mode === 'frozen' && flags.checkpoint === undefined) {
    throw new ConfigError([
      {
        key: '--frozen',
        value: 'without --checkpoint',
        rule: 'a frozen replay needs a trained model and store to start from',
        fix: 'pass --checkpoint <dir> (a directory the run command wrote checkpoints to), or replay with --train',
      },
    ]);
  }
  return {
    ...(flags.checkpoint === undefined
      ? {}
      : {
          'checkpoint.dir': flags.checkpoint,
          'checkpoint.resume': true,
          'checkpoint.everyBatches': 0,
          'checkpoint.everySeconds': 0,
          'checkpoint.onShutdown': false,
        }),
    ...(flags.mode === 'frozen' ? { 'training.mode': 'off', 'cluster.frozen': true } : {}),
  };
}

export async function runEvaluationSession(options: SessionOptions): Promise<number> {
  const { flags } = options;
  const overrides = { ...options.overrides, ...checkpointOverrides(flags) };
  const first = evaluationConfig(flags, overrides);
  // The file, and a CSV's named columns and label column, are checked before it is read.
  resolveFileSource(first);
  const logger = createLogger(first.log.level);
  const scan = await scanLabels(options.openPass(first, logger, 0), first.decode.labelField);
  if (scan.records === 0) {
    throw new ConfigError([
      {
        key: options.data.kind === 'kafka' ? '--from/--to' : '--file',
        value: JSON.stringify(options.data.name),
        rule: 'the data to evaluate holds no records',
        fix: 'check the topic or file, and the range',
      },
    ]);
  }
  const isSet = userSetKeys(flags);
  // A checkpoint's store has its own k and needs no warm-up; the settings its state depends on
  // (k, the network's shape, the decoder's fields) are taken from it where the user set none,
  // and one the user set differently is named when the pipeline refuses the checkpoint.
  const fromCheckpoint = flags.checkpoint !== undefined;
  const written = fromCheckpoint
    ? Object.fromEntries(
        Object.entries((await readCheckpoint(flags.checkpoint!)).stateSettings ?? {}).filter(
          ([key]) => !key.includes(' ') && !isSet(key),
        ),
      )
    : {};
  const fromLabels = !fromCheckpoint && !isSet('cluster.k') && scan.labels.size >= 2;
  const k = fromLabels
    ? scan.labels.size
    : typeof written['cluster.k'] === 'number'
      ? written['cluster.k']
      : first.cluster.k;
  const warmup =
    fromCheckpoint || isSet('cluster.warmupSize')
      ? first.cluster.warmupSize
      : Math.max(k, Math.min(first.cluster.warmupSize, scan.records));
  // String labels (class names) get ids in sorted order, unless the user listed them.
  const labelValues =
    scan.names.length > 0 && !isSet('decode.labelValues')
      ? { 'decode.labelValues': scan.names }
      : {};
  const config = evaluationConfig(flags, overrides, {
    ...written,
    'cluster.k': k,
    'cluster.warmupSize': warmup,
    ...labelValues,
  });
  const labelMapping =
    config.decode.labelValues.length > 0
      ? Object.fromEntries(config.decode.labelValues.map((name, id) => [name, id]))
      : null;
  const windowRecords = flags.window ?? Math.max(100, Math.ceil(scan.records / 4));
  const total = scan.records * flags.passes;
  process.stderr.write(
    `streamclust ${options.command}: ${flags.passes} pass${flags.passes === 1 ? '' : 'es'} over ` +
      `${scan.records.toLocaleString('en')} records, k = ${config.cluster.k} ` +
      `(${fromLabels ? `the number of distinct "${config.decode.labelField}" values; --k to change` : 'configuration'}), ` +
      `warm-up ${config.cluster.warmupSize} records, windows of ${windowRecords} records, ` +
      `${flags.mode === 'train' ? 'training as it reads' : 'frozen'}\n`,
  );
  const progress = createProgressBar(options.command, total);
  let finished = false;
  const source = replayPasses(options.kind, flags.passes, (pass) =>
    options.openPass(config, logger, pass),
  );
  const { report, files, invalidReasons } = await runEvaluation({
    command: options.command,
    config,
    source,
    data: { ...options.data, recordsPerPass: scan.records },
    choices: {
      mode: flags.mode,
      passes: flags.passes,
      windowRecords,
      k: config.cluster.k,
      kSource: fromLabels ? 'labels' : 'configuration',
      warmupSize: config.cluster.warmupSize,
      labelField: config.decode.labelField,
      labelMapping,
      checkpoint: flags.checkpoint ?? null,
    },
    reportDir: flags.reportDir,
    logger,
    sampleSize: flags.sample,
    silhouetteSample: Math.min(flags.sample, 2000),
    tsnePoints: flags.tsnePoints,
    tsneIterations: 500,
    onProgress: (done) => progress.update(done),
    onReportStart: (message) => {
      progress.finish();
      finished = true;
      process.stderr.write(`${options.command}: ${message}\n`);
    },
  });
  if (!finished) progress.finish();
  process.stdout.write(summaryTable(report) + '\n');
  if (files !== undefined) process.stdout.write(`report: ${files.json}\n        ${files.html}\n`);
  const { recordsAssigned, recordsInvalid } = report.summary;
  if (recordsInvalid > 0) {
    process.stderr.write(
      `streamclust ${options.command}: ${recordsInvalid.toLocaleString('en')} of ` +
        `${(recordsAssigned + recordsInvalid).toLocaleString('en')} records were invalid ` +
        `(each pass counts them again):\n${invalidLines(invalidReasons, config).join('\n')}\n`,
    );
  }
  const bad = badData(config, { recordsAssigned, recordsInvalid });
  if (bad === undefined) return 0;
  process.stderr.write(`streamclust: ${bad}\n`);
  return EXIT_BAD_DATA;
}

export function summaryTable(report: EvaluationReport): string {
  const names = ['nmi', 'ari', 'accuracy', 'purity', 'vMeasure', 'silhouette'] as const;
  const cell = (v: number | null | undefined): string =>
    v === null || v === undefined ? '–' : v.toFixed(4);
  const lines = [
    `| pass | records | clusters | ${names.join(' | ')} |`,
    `|---:|---:|---:|${names.map(() => '---:').join('|')}|`,
    ...report.passes.map(
      (p) =>
        `| ${p.pass} | ${p.metrics.records} | ${p.metrics.clusters} | ${names.map((n) => cell(p.metrics.values[n])).join(' | ')} |`,
    ),
  ];
  const notes = report.passes.flatMap((p) =>
    Object.entries(p.metrics.notes).map(
      ([name, note]) => `pass ${p.pass}: ${name} undefined: ${note}`,
    ),
  );
  return [...lines, ...notes].join('\n');
}
