/**
 * Writes test/fixtures/datasets/synthetic-drift.csv: 3,000 records of streamclust's seeded
 * drifting Gaussian mixture (src/sources/drifting-mixture.ts), the third data set of the
 * evaluation benchmark. The mixture is the demo stream's default (seed 42, 8 dimensions, 5
 * clusters, spread 0.6, separation 6) with one drift event every 1,000 records: a cluster moves
 * at record 1,000, one is born at 2,000. The label is the generating cluster's id.
 *
 * `npx tsx scripts/reference/make-synthetic-stream.ts`
 */
import { writeFileSync } from 'node:fs';

import { DriftingMixture } from '../../src/sources/drifting-mixture.js';

const OPTIONS = {
  seed: 42,
  dim: 8,
  clusters: 5,
  spread: 0.6,
  separation: 6,
  driftEveryRecords: 1000,
};
const RECORDS = 3000;

const mixture = new DriftingMixture(OPTIONS);
const header = [...Array.from({ length: OPTIONS.dim }, (_, i) => `f${i}`), 'label'].join(',');
const rows: string[] = [header];
for (let i = 0; i < RECORDS; i++) {
  const point = mixture.next();
  // Six significant digits keep the file small; the features are O(10) with spread 0.6.
  rows.push([...point.features.map((f) => Number(f.toPrecision(6))), point.label].join(','));
}
const url = new URL('../../test/fixtures/datasets/synthetic-drift.csv', import.meta.url);
writeFileSync(url, rows.join('\n') + '\n');
console.log(
  `wrote ${RECORDS} records to ${url.pathname}; events: ${JSON.stringify(mixture.events)}`,
);
