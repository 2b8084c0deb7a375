import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { evaluateLabelledFile } from '../../../src/eval/evaluate-labelled-file.js';

/*
 * The default configuration against scikit-learn's MiniBatchKMeans on the small labelled data
 * sets of the quality benchmark: after 5 passes its NMI, the mean over the benchmark's 3 seeds,
 * must exceed the better of the two MiniBatchKMeans rows (raw and standardised features, mean
 * over the same seeds, test/fixtures/reference/eval-baselines.json, written by
 * scripts/reference/eval-baselines.py): the comparison the benchmark's verdicts make, since one
 * seed can land on either side of a level result.
 *
 * Where streamclust is behind today the case is declared with `it.fails`: it passes while the
 * default loses and fails the day it wins, so the shortfall stays visible in every run and the
 * marker has to be removed when it is fixed (issue #12). Digits, the large set, is checked
 * against the no-network baseline in training-beats-baseline.test.ts and by the benchmark.
 */
const ROOT = new URL('../../fixtures/', import.meta.url);
interface Baselines {
  datasets: Record<string, { runs: Record<string, { pass5: { nmi: number } }[]> }>;
}
const baselines = JSON.parse(
  readFileSync(new URL('reference/eval-baselines.json', ROOT), 'utf8'),
) as Baselines;

const SEEDS = [0, 1, 2];

function bestMiniBatchKMeans(dataset: string): number {
  const runs = baselines.datasets[dataset]?.runs;
  const mean = (rows: { pass5: { nmi: number } }[] | undefined): number =>
    (rows ?? []).reduce((s, r) => s + r.pass5.nmi, 0) / Math.max(1, rows?.length ?? 0);
  return Math.max(mean(runs?.['miniBatchKMeans']), mean(runs?.['miniBatchKMeansScaled']));
}

async function defaultNmi(dataset: string): Promise<number> {
  let sum = 0;
  for (const seed of SEEDS) {
    const run = await evaluateLabelledFile({
      path: fileURLToPath(new URL(`datasets/${dataset}.csv`, ROOT)),
      passes: 5,
      seed,
    });
    sum += run.perPass[4]?.values['nmi'] as number;
  }
  return sum / SEEDS.length;
}

describe('the default configuration against MiniBatchKMeans (NMI after 5 passes)', () => {
  it('beats it on breast cancer', async () => {
    expect(await defaultNmi('breast-cancer')).toBeGreaterThan(bestMiniBatchKMeans('breast-cancer'));
  }, 300_000);

  // Known shortfall (#12): on iris, k-means on the raw features (0.76) beats anything built on
  // standardised ones (0.65 without a network, 0.60 with it, means over the 3 seeds).
  it.fails(
    'beats it on iris (known shortfall: behind)',
    async () => {
      expect(await defaultNmi('iris')).toBeGreaterThan(bestMiniBatchKMeans('iris'));
    },
    300_000,
  );

  // Ahead by a margin inside the seed spread (0.893 ± 0.027 over the 3 seeds against 0.874).
  it('beats it on wine', async () => {
    expect(await defaultNmi('wine')).toBeGreaterThan(bestMiniBatchKMeans('wine'));
  }, 300_000);
});
