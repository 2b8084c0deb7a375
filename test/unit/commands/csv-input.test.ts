/**
 * A CSV as people export it, through the real CLI: a byte-order mark, CRLF line ends, quoted
 * numbers, a quoted cell holding a comma, a text column and class names as labels.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { EvaluationReport } from '../../../src/eval/evaluation-report.js';
import { runCli } from '../../helpers/cli-process.js';

const SPECIES = ['setosa', 'versicolor', 'virginica'];

/** Iris (test/fixtures/datasets/iris.csv) rewritten the way a spreadsheet might save it. */
function exportedIris(dir: string): string {
  const [, ...rows] = readFileSync('test/fixtures/datasets/iris.csv', 'utf8').trim().split('\n');
  const lines = [
    'sepal length,"sepal width",petal length,petal width,host,note,species',
    ...rows.map((row, i) => {
      const [a, b, c, d, label] = row.split(',');
      return `"${a}",${b},"${c}",${d},host${i % 7},"seen by ""probe"", rack ${i % 3}",${SPECIES[Number(label)]}`;
    }),
  ];
  const file = join(dir, 'iris-export.csv');
  writeFileSync(file, '\uFEFF' + lines.join('\r\n') + '\r\n');
  return file;
}

describe('CSV input (real CLI)', () => {
  it('evaluates a spreadsheet export: named columns, class names mapped to ids, NMI reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-csv-'));
    const file = exportedIris(dir);
    const { code, stderr } = await runCli([
      'evaluate',
      '--file',
      file,
      '--label-field',
      'species',
      '--set',
      'decode.fields=[sepal length, sepal width, petal length, petal width]',
      '--report',
      dir,
      '--tsne-points',
      '0',
    ]);
    expect(stderr).not.toMatch(/unexpected error/);
    expect(code).toBe(0);
    expect(stderr).toContain('k = 3 (the number of distinct "species" values');
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as EvaluationReport;
    expect(report.choices.labelMapping).toEqual({ setosa: 0, versicolor: 1, virginica: 2 });
    expect(report.summary.recordsAssigned).toBe(150);
    expect(report.summary.recordsInvalid).toBe(0);
    // Quoted numbers read as numbers: the clusters follow the species (k-means on iris: ~0.66).
    expect(report.passes[0]!.metrics.values['nmi']).toBeGreaterThan(0.5);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('0 = setosa, 1 = versicolor, 2 = virginica');
    // Each cluster explained in centimetres: the cluster of the smallest petals (setosa's) has
    // them about 1.5 cm long, and its petals are what sets it apart.
    const profiles = report.profiles!;
    expect(profiles).toHaveLength(3);
    const petalLength = (p: (typeof profiles)[number]) =>
      p.profile.features.find((f) => f.feature === 'petal length')!.mean;
    const smallest = [...profiles].sort((a, b) => petalLength(a) - petalLength(b))[0]!;
    expect(petalLength(smallest)).toBeGreaterThan(1.3);
    expect(petalLength(smallest)).toBeLessThan(1.7);
    expect(smallest.profile.distinguishing[0]!.feature).toMatch(/^petal (length|width)$/);
    expect(smallest.profile.distinguishing[0]!.difference).toBeLessThan(-1);
    expect(html).toContain('<h2>What each cluster holds</h2>');
    expect(html).toMatch(/petal (length|width) \d/);
  });

  it('a run whose every row is invalid ends with exit 65 and the reason by column name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-csv-'));
    const file = exportedIris(dir);
    const deadLetters = join(dir, 'dead.jsonl');
    const { code, stdout, stderr } = await runCli([
      'run',
      '--file',
      file,
      '--port',
      '0',
      '--set',
      'decode.labelField=species',
      '--set',
      `sinks.deadLetterFile=${deadLetters}`,
      '--set',
      'model.kind=none',
    ]);
    expect(stderr).not.toMatch(/unexpected error/);
    expect(code).toBe(65);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      'streamclust run: 150 records read, 0 assigned, 150 invalid (100.0 %)\n' +
        '  wrong_type: 150, e.g. line 2: the field "host" is the string "host0", not a number\n' +
        '  assignments: standard output (JSON lines)\n' +
        `  dead letters: ${deadLetters}\n`,
    );
    expect(stderr).toContain('streamclust: every record was invalid (150); the reasons are above.');
    const letters = readFileSync(deadLetters, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { reason: string; message: string; offset: string });
    expect(letters).toHaveLength(150);
    expect(letters[0]).toMatchObject({
      reason: 'wrong_type',
      message: 'the field "host" is the string "host0", not a number',
      offset: '2',
    });
  });

  it('writes the assignments of a file to standard output and no side file unless asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-csv-'));
    const file = exportedIris(dir);
    const { code, stdout, stderr } = await runCli([
      'run',
      '--file',
      file,
      '--port',
      '0',
      '--set',
      'decode.labelField=species',
      '--set',
      'decode.fields=[sepal length, sepal width, petal length, petal width]',
      '--set',
      'model.kind=none',
      '--k',
      '3',
    ]);
    expect(code).toBe(0);
    const assignments = stdout
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            offset: string;
            clusterId: number;
            outlier: boolean;
            instance: string;
            run: string;
          },
      );
    expect(assignments).toHaveLength(150);
    expect(assignments[0]).toMatchObject({ offset: '2', outlier: false, instance: hostname() });
    // One run id for the whole run, a fresh one per start.
    expect(new Set(assignments.map((a) => a.run)).size).toBe(1);
    expect(assignments[0]!.run).toMatch(/^[0-9a-f]{8}$/);
    expect(new Set(assignments.map((a) => a.clusterId)).size).toBe(3);
    expect(stderr).toContain('streamclust run: 150 records read, 150 assigned, 0 invalid\n');
    expect(stderr).toContain(
      '  dead letters: not kept (--set sinks.deadLetterFile=PATH keeps them)\n' +
        '  events: not kept (--set sinks.eventsFile=PATH keeps them)\n',
    );
  });

  it('stops at once, listing the columns, when a named column or the label column is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-csv-'));
    const file = exportedIris(dir);
    const label = await runCli(['evaluate', '--file', file, '--label-field', 'class']);
    expect(label.code).toBe(78);
    expect(label.stderr).toContain(
      `decode.labelField: "class" is invalid: is not a column of ${file}. Fix: name the label column (--label-field) among: "sepal length", "sepal width", "petal length", "petal width", "host", "note", "species"`,
    );
    const fields = await runCli([
      'evaluate',
      '--file',
      file,
      '--label-field',
      'species',
      '--set',
      'decode.fields=[sepal length, petal lenght]',
    ]);
    expect(fields.code).toBe(78);
    expect(fields.stderr).toContain(
      `decode.fields: "petal lenght" is invalid: is not a column of ${file}. Fix: name columns of its header:`,
    );
  });
});
