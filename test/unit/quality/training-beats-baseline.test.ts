import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { evaluateLabelledFile } from '../../../src/eval/evaluate-labelled-file.js';

/*
 * The check that training helps: on digits (scikit-learn's copy of the UCI handwritten digits,
 * committed in test/fixtures/datasets), where k-means on the scaled input is clearly imperfect
 * (NMI about 0.69 for the no-network baseline, 0.73 for MiniBatchKMeans on raw features), the
 * default configuration's trained embedding must beat the no-network baseline by at least
 * MARGIN NMI after two replay passes. The run is the one a user gets from `streamclust evaluate
 * --file digits.csv --passes 2`, seeded; `npm run bench -- eval` prints the full table.
 */
const DIGITS = fileURLToPath(new URL('../../fixtures/datasets/digits.csv', import.meta.url));
const MARGIN = 0.05;

describe('the learned embedding against the no-network baseline', () => {
  it(`beats k-means on the scaled input by at least ${MARGIN} NMI on digits`, async () => {
    const passes = 2;
    const baseline = await evaluateLabelledFile({
      path: DIGITS,
      passes,
      overrides: { model: { kind: 'none' } },
    });
    const trained = await evaluateLabelledFile({ path: DIGITS, passes });
    const nmi = (run: typeof trained): number => run.perPass[passes - 1]?.values['nmi'] as number;
    expect([baseline.backend, baseline.clusteredSpace]).toEqual([null, 'input']);
    expect(trained.backend).not.toBeNull();
    expect(trained.clusteredSpace).toBe('embedding');
    expect(nmi(baseline)).toBeGreaterThan(0.5);
    expect(nmi(trained)).toBeGreaterThan(nmi(baseline) + MARGIN);
  }, 120_000);
});
