import { beforeAll, describe, expect, it } from 'vitest';

import { neighbourViews } from '../../../src/losses/neighbour-views.js';
import { useTestBackend } from './helpers.js';

beforeAll(useTestBackend);

// Two tight groups on a line, 1-D: {0, 0.1, 0.2} and {10, 10.1}, plus an exact copy of row 0.
const pool = Float32Array.from([0, 10, 0.1, 10.1, 0.2, 0]);

describe('neighbourViews', () => {
  it('pairs each anchor with its nearest row, skipping itself and its exact copies', () => {
    const { views, partners } = neighbourViews(pool, 6, 1, { anchors: 4, neighbours: 1 });
    // Row 0's exact copy (row 5) is skipped: its nearest distinct row is row 2 (0.1).
    expect([...partners]).toEqual([2, 3, 0, 1]);
    expect([...views]).toEqual([0, 10, 0.1, 10.1, 0.1, 10.1, 0, 10].map(Math.fround));
  });

  it('draws among the k nearest, always within the anchor’s own group, the same for a seed', () => {
    const a = neighbourViews(pool, 6, 1, { anchors: 6, neighbours: 2, seed: 3 });
    const b = neighbourViews(pool, 6, 1, { anchors: 6, neighbours: 2, seed: 3 });
    expect([...a.partners]).toEqual([...b.partners]);
    const group = (row: number): number => ((pool[row] as number) > 5 ? 1 : 0);
    a.partners.forEach((p, i) => {
      expect(p).not.toBe(i);
      expect(group(p)).toBe(group(i));
    });
  });

  it('falls back to a copy when nothing else is near, and corrupts features from other rows', () => {
    const copies = Float32Array.from([1, 2, 1, 2]);
    const fallback = neighbourViews(copies, 2, 2, { anchors: 2 });
    expect([...fallback.partners]).toEqual([1, 0]);
    expect(fallback.copies).toBe(2);
    expect(neighbourViews(pool, 6, 1, { anchors: 4 }).copies).toBe(0);
    const wide = Float32Array.from({ length: 40 * 8 }, (_, i) => i);
    const { views } = neighbourViews(wide, 40, 8, { anchors: 10, corruption: 0.6, seed: 1 });
    const anchors = views.subarray(0, 10 * 8);
    let replaced = 0;
    anchors.forEach((v, i) => {
      if (v !== wide[i]) replaced += 1;
      // A replaced value is the same feature of another row.
      expect(v % 8).toBe(i % 8);
    });
    expect(replaced / anchors.length).toBeGreaterThan(0.4);
    expect(replaced / anchors.length).toBeLessThan(0.8);
  });

  it('names each rule it enforces', () => {
    expect(() => neighbourViews(pool, 5, 1, { anchors: 2 })).toThrow(
      'neighbourViews: features has 6 values, expected rows × dim = 5 × 1',
    );
    expect(() => neighbourViews(pool, 6, 1, { anchors: 7 })).toThrow(
      /anchors must be an integer in \[1, rows\]/,
    );
    expect(() => neighbourViews(pool, 6, 1, { anchors: 2, neighbours: 0 })).toThrow(/neighbours/);
    expect(() => neighbourViews(pool, 6, 1, { anchors: 2, corruption: 1 })).toThrow(/corruption/);
  });
});
