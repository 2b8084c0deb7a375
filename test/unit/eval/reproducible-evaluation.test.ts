import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { evaluateLabelledFile } from '../../../src/eval/evaluate-labelled-file.js';

/*
 * evaluate trains inline (training.schedule: inline): each batch is embedded after the training
 * steps of the one before it, whatever the timing, so a seeded evaluation is reproducible to
 * the last digit. With batches embedded while the previous batch trained, the same run gave
 * different figures from one machine load to the next.
 */
const wine = fileURLToPath(new URL('../../fixtures/datasets/wine.csv', import.meta.url));

describe('a seeded evaluation', () => {
  it('gives the same figures every time', async () => {
    const run = () => evaluateLabelledFile({ path: wine, passes: 3, seed: 1 });
    const first = await run();
    // Another run at the same time loads the machine differently from the first one.
    const [second, third] = await Promise.all([run(), run()]);
    for (const other of [second, third]) {
      expect(other.perPass.map((p) => p.values)).toEqual(first.perPass.map((p) => p.values));
    }
  }, 120_000);
});
