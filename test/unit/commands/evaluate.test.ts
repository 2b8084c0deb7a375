import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import type { EvaluationReport } from '../../../src/eval/evaluation-report.js';
import { runCli } from '../../helpers/cli-process.js';
import { PLUMBING_TRAINING_ARGS } from '../../helpers/plumbing.js';

const WINE = 'test/fixtures/datasets/wine.csv';
const DIGITS = 'test/fixtures/datasets/digits.csv';

function readReport(dir: string): EvaluationReport {
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as EvaluationReport;
}

describe('streamclust evaluate (real CLI, real pipeline, no Kafka)', () => {
  it('runs wine for 3 passes with k from the labels and a warm-up of one pass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-eval-'));
    const { code, stdout, stderr } = await runCli([
      'evaluate',
      '--file',
      WINE,
      '--passes',
      '3',
      '--window',
      '50',
      '--report',
      dir,
      '--tsne-points',
      '40',
    ]);
    expect(stderr).not.toMatch(/unexpected error/);
    expect(code).toBe(0);
    expect(stderr).toContain('k = 3 (the number of distinct "label" values');
    const report = readReport(dir);
    expect(report.choices).toMatchObject({ k: 3, kSource: 'labels', warmupSize: 178, passes: 3 });
    expect(report.configuration.cluster.k).toBe(3);
    expect(report.passes.map((p) => [p.pass, p.start, p.end, p.metrics.records])).toEqual([
      [1, 0, 178, 178],
      [2, 178, 356, 178],
      [3, 356, 534, 178],
    ]);
    // Windows of 50 restart at every pass: 50, 50, 50, 28 per pass.
    expect(report.windows.map((w) => w.end - w.start)).toEqual(
      [1, 2, 3].flatMap(() => [50, 50, 50, 28]),
    );
    expect(report.embeddings?.clusters).toHaveLength(178);
    expect(report.embeddings?.tsne?.points).toHaveLength(40);
    // The slow last step says what it is doing instead of leaving the bar at 100 %.
    expect(stderr).toContain(
      'evaluate: building the report from 178 sampled embeddings: t-SNE of 40 points, 500 iterations (--tsne-points 0 skips it)\n',
    );
    // The table on stdout repeats the report's per-pass NMI.
    const nmi = report.passes[2]?.metrics.values.nmi as number;
    expect(stdout).toMatch(new RegExp(`^\\| 3 \\| 178 \\| \\d+ \\| ${nmi.toFixed(4)} \\|`, 'm'));
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('a file whose records lack the feature field ends with exit 65 and the reason, not an empty report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-eval-'));
    const file = join(dir, 'metrics.jsonl');
    writeFileSync(
      file,
      Array.from({ length: 300 }, (_, i) => JSON.stringify({ cpu: i % 7, mem: i % 5 })).join('\n'),
    );
    const { code, stderr } = await runCli(['evaluate', '--file', file, '--report', dir]);
    expect(code).toBe(65);
    expect(stderr).toContain(
      'streamclust evaluate: 300 of 300 records were invalid (each pass counts them again):\n' +
        '  missing_field: 300, e.g. line 1: the field "features" is missing\n',
    );
    expect(stderr).toContain('streamclust: every record was invalid (300); the reasons are above.');
  });

  it('refuses --frozen without a checkpoint, naming the fix', async () => {
    const { code, stderr } = await runCli(['evaluate', '--file', WINE, '--frozen']);
    expect(code).toBe(78);
    expect(stderr).toContain('--frozen: without --checkpoint is invalid');
    expect(stderr).toContain('pass --checkpoint <dir>');
  });

  it('--frozen --checkpoint evaluates the checkpoint without training it or writing it back', async () => {
    const checkpoint = mkdtempSync(join(tmpdir(), 'streamclust-ckpt-'));
    const tuned = [
      '--k',
      '10',
      '--set',
      'cluster.warmupSize=500',
      '--set',
      'decode.standardize=true',
    ];
    // The first 800 rows are enough to train a checkpoint past its warm-up; this test is about
    // what evaluate does with it, not about its quality.
    const head = join(mkdtempSync(join(tmpdir(), 'streamclust-digits-')), 'digits-head.csv');
    writeFileSync(head, readFileSync(DIGITS, 'utf8').split('\n').slice(0, 801).join('\n') + '\n');
    const run = await runCli([
      'run',
      '--source',
      'file',
      '--file',
      head,
      ...PLUMBING_TRAINING_ARGS,
      '--checkpoint-dir',
      checkpoint,
      '--port',
      '0',
      '--log-level',
      'warn',
      ...tuned,
    ]);
    expect(run.code).toBe(0);
    const before = readFileSync(join(checkpoint, 'checkpoint.json'), 'utf8');
    const trainedVersion = (JSON.parse(before) as { model: { version: number } }).model.version;
    expect(trainedVersion).toBeGreaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), 'streamclust-eval-'));
    const frozen = ['evaluate', '--file', DIGITS, '--frozen', '--checkpoint', checkpoint];
    const evaluated = await runCli([
      ...frozen,
      '--passes',
      '2',
      '--report',
      dir,
      '--tsne-points',
      '0',
    ]);
    // Nothing tuned repeated: k (and the rest the state depends on) comes from the checkpoint.
    expect(evaluated.stderr).not.toMatch(/error/i);
    expect(evaluated.code).toBe(0);
    const report = readReport(dir);
    expect(report.configuration.cluster.k).toBe(10);
    expect(report.choices.mode).toBe('frozen');
    expect(report.configuration.training.mode).toBe('off');
    expect(new Set(report.windows.map((w) => w.modelVersion))).toEqual(new Set([trainedVersion]));
    expect(report.passes[0]?.metrics.clusters).toBe(10);
    expect(readFileSync(join(checkpoint, 'checkpoint.json'), 'utf8')).toBe(before);

    // A setting given that differs from the checkpoint's is named, with both values.
    const other = await runCli([...frozen, '--k', '5', '--set', 'model.embeddingDim=16']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(
      'was written with other settings (model.embeddingDim: 32 in the checkpoint, 16 now; cluster.k: 10 in the checkpoint, 5 now): ' +
        'use the values it was written with, or start without it',
    );
    expect(other.stderr).not.toContain('--resume');
  });
});
