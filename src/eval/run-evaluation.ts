/**
 * Runs an evaluation: the same pipeline as `streamclust run`, fed by a replayed source and
 * writing nothing anywhere (assignments stay in memory for the metrics, dead letters are only
 * counted), then writes report.json and report.html into the report directory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { createPipeline, type PipelineStatus } from '../pipeline/create-pipeline.js';
import type { Sink } from '../sinks/sink.js';
import type { ReplaySource } from '../sources/replay-source.js';
import { EvaluationCollector } from './evaluation-collector.js';
import {
  buildReport,
  type DataRange,
  type EvaluationChoices,
  type EvaluationReport,
} from './evaluation-report.js';
import { renderReportHtml } from './report-html.js';

export interface EvaluationInput {
  command: EvaluationReport['command'];
  config: Config;
  source: ReplaySource;
  data: DataRange;
  choices: EvaluationChoices;
  /** Directory that receives report.json and report.html; undefined writes nothing. */
  reportDir: string | undefined;
  logger: Logger;
  /** Embeddings kept from the last pass for the internal metrics and the 2-D views. */
  sampleSize: number;
  silhouetteSample: number;
  tsnePoints: number;
  tsneIterations: number;
  /** Called after every assigned batch with the records assigned so far. */
  onProgress?: (recordsDone: number) => void;
  /** Called once the records are done, with what the report still takes (t-SNE can take a minute). */
  onReportStart?: (message: string) => void;
}

export interface EvaluationResult {
  report: EvaluationReport;
  files: { json: string; html: string } | undefined;
  /** Invalid records by reason with the first example of each (for the command's summary). */
  invalidReasons: PipelineStatus['invalidReasons'];
}

/** A sink for evaluations: nothing leaves the process; dead letters are counted by reason. */
function countingSink(): Sink & { invalid: { count: number; reasons: Record<string, number> } } {
  const invalid = { count: 0, reasons: {} as Record<string, number> };
  return {
    invalid,
    write: async (output) => {
      for (const d of output.deadLetters) {
        invalid.count += 1;
        invalid.reasons[d.reason] = (invalid.reasons[d.reason] ?? 0) + 1;
      }
    },
    close: async () => undefined,
  };
}

export async function runEvaluation(input: EvaluationInput): Promise<EvaluationResult> {
  const collector = new EvaluationCollector({
    passOf: (record) => input.source.passOf(record),
    windowRecords: input.choices.windowRecords,
    sampleSize: input.sampleSize,
    silhouetteSample: input.silhouetteSample,
    seed: input.config.cluster.seed,
  });
  const sink = countingSink();
  const started = performance.now();
  const pipeline = await createPipeline(input.config, {
    logger: input.logger,
    metrics: new Metrics({ defaultMetrics: false }),
    source: input.source,
    sink,
    observers: [
      collector,
      { onBatch: () => input.onProgress?.(collector.recordsSeen + sink.invalid.count) },
    ],
  });
  await pipeline.run();
  const seconds = (performance.now() - started) / 1000;
  const status = pipeline.status();
  const tsnePoints = Math.min(input.tsnePoints, collector.lastPassSample().length);
  input.onReportStart?.(
    `building the report from ${collector.lastPassSample().length.toLocaleString('en')} sampled embeddings` +
      (tsnePoints >= 2
        ? `: t-SNE of ${tsnePoints.toLocaleString('en')} points, ${input.tsneIterations} iterations (--tsne-points 0 skips it)`
        : ''),
  );
  const report = buildReport({
    command: input.command,
    data: input.data,
    choices: input.choices,
    config: input.config,
    backend: status.backend,
    collector,
    invalid: sink.invalid,
    seconds,
    finalClusters: status.clusters,
    modelVersion: status.modelVersion,
    tsnePoints: input.tsnePoints,
    tsneIterations: input.tsneIterations,
    profiles: pipeline.profiles(),
  });
  const invalidReasons = status.invalidReasons;
  if (input.reportDir === undefined) return { report, files: undefined, invalidReasons };
  await mkdir(input.reportDir, { recursive: true });
  const files = {
    json: join(input.reportDir, 'report.json'),
    html: join(input.reportDir, 'report.html'),
  };
  await writeFile(files.json, JSON.stringify(report, null, 2) + '\n');
  await writeFile(files.html, renderReportHtml(report));
  return { report, files, invalidReasons };
}
