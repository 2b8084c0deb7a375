/**
 * A seeded CSV mixture for the cluster-profile tests: three kinds of record, each shifting two
 * named columns by +8 standard deviations over a base of 10, with a label and a key column.
 */
import { writeFileSync } from 'node:fs';

import { mulberry32 } from '../../src/losses/mulberry32.js';

export const COLUMNS = ['cpu', 'mem', 'latency', 'errors', 'disk', 'net'];
/** What each generated kind of record shifts, by +8 standard deviations over a base of 10. */
export const SHIFTED = [
  ['latency', 'errors'],
  ['cpu', 'mem'],
  ['disk', 'net'],
];

export function mixtureCsv(
  path: string,
  rows: number,
  seed: number,
  kindOf: (row: number) => number = (i) => i % 3,
): void {
  const random = mulberry32(seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const lines = [COLUMNS.join(',') + ',label,key'];
  for (let i = 0; i < rows; i++) {
    const kind = kindOf(i);
    const cells = COLUMNS.map((c) =>
      (10 + normal() + (SHIFTED[kind]!.includes(c) ? 8 : 0)).toFixed(3),
    );
    lines.push(`${cells.join(',')},${kind},host-${kind}-${i}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}
