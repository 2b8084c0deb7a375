import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hungarian } from '../../../src/eval/metrics/hungarian.js';

// Totals SciPy's linear_sum_assignment printed, written by scripts/reference/clustering-metrics.py.
interface AssignmentCase {
  name: string;
  cost: number[][];
  minimize: number;
  maximize: number;
}
const cases = (
  JSON.parse(
    readFileSync(
      new URL('../../fixtures/reference/clustering-metrics.json', import.meta.url),
      'utf8',
    ),
  ) as { linearSumAssignment: AssignmentCase[] }
).linearSumAssignment;

function expectValidAssignment(cost: number[][], result: ReturnType<typeof hungarian>): void {
  const size = Math.min(cost.length, cost[0]?.length ?? 0);
  expect(result.rows).toHaveLength(size);
  expect(result.cols).toHaveLength(size);
  expect(new Set(result.rows).size).toBe(size);
  expect(new Set(result.cols).size).toBe(size);
  expect(result.rows).toEqual([...result.rows].sort((a, b) => a - b));
  const sum = result.rows.reduce((s, row, k) => s + cost[row]![result.cols[k]!]!, 0);
  expect(result.total).toBeCloseTo(sum, 9);
}

// Every injection of the smaller side into the larger, by recursion: an oracle that shares
// nothing with the Hungarian method.
function bruteForce(cost: number[][], maximize: boolean): number {
  const tall = cost.length > (cost[0]?.length ?? 0);
  const m = tall ? cost[0]!.map((_, j) => cost.map((row) => row[j]!)) : cost;
  const used = new Array<boolean>(m[0]!.length).fill(false);
  const better = (a: number, b: number): boolean => (maximize ? a > b : a < b);
  const search = (row: number): number => {
    if (row === m.length) return 0;
    let best = maximize ? -Infinity : Infinity;
    for (let j = 0; j < used.length; j++) {
      if (used[j]) continue;
      used[j] = true;
      const value = m[row]![j]! + search(row + 1);
      used[j] = false;
      if (better(value, best)) best = value;
    }
    return best;
  };
  return search(0);
}

function seededMatrix(rows: number, cols: number, seed: number): number[][] {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => Math.round(next() * 40 - 10)),
  );
}

describe('hungarian matches SciPy linear_sum_assignment totals', () => {
  it('has the square, wide, tall, integer and tie cases', () => {
    expect(cases.map((c) => c.name)).toEqual(
      expect.arrayContaining(['4x7 float', '7x4 float', '6x6 ties', '40x33 float']),
    );
  });

  it.each(cases)('$name', ({ cost, minimize, maximize }) => {
    const low = hungarian(cost);
    const high = hungarian(cost, { maximize: true });
    expectValidAssignment(cost, low);
    expectValidAssignment(cost, high);
    expect(Math.abs(low.total - minimize)).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(minimize)),
    );
    expect(Math.abs(high.total - maximize)).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(maximize)),
    );
  });
});

describe('hungarian', () => {
  it('solves the documented example', () => {
    expect(
      hungarian([
        [4, 1, 3],
        [2, 0, 5],
        [3, 2, 2],
      ]),
    ).toEqual({
      rows: [0, 1, 2],
      cols: [1, 0, 2],
      total: 5,
    });
  });

  it('maps a tall matrix back to its own rows and columns', () => {
    // Rows 1 and 2 take columns 0 and 1; row 0 is left out.
    expect(
      hungarian([
        [9, 9],
        [1, 5],
        [5, 1],
      ]),
    ).toEqual({ rows: [1, 2], cols: [0, 1], total: 2 });
  });

  it.each([
    [3, 3, 1],
    [4, 4, 2],
    [5, 5, 3],
    [6, 6, 4],
    [3, 6, 5],
    [6, 3, 6],
    [2, 7, 7],
    [7, 2, 8],
    [1, 5, 9],
    [5, 1, 10],
  ])('agrees with brute force on a seeded %ix%i matrix (seed %i)', (rows, cols, seed) => {
    const cost = seededMatrix(rows, cols, seed);
    for (const maximize of [false, true]) {
      const result = hungarian(cost, { maximize });
      expectValidAssignment(cost, result);
      expect(result.total).toBe(bruteForce(cost, maximize));
    }
  });

  it('returns an empty assignment for an empty matrix', () => {
    expect(hungarian([])).toEqual({ rows: [], cols: [], total: 0 });
    expect(hungarian([[], []])).toEqual({ rows: [], cols: [], total: 0 });
  });

  it('rejects ragged and non-finite matrices', () => {
    expect(() => hungarian([[1, 2], [3]])).toThrow('cost[1] has 1 entries but cost[0] has 2');
    expect(() => hungarian([[1, Infinity]])).toThrow('cost[0][1] must be finite; got Infinity');
    expect(() => hungarian([[NaN]])).toThrow(RangeError);
  });

  it('solves a 300 x 300 matrix quickly and no worse than the identity assignment', () => {
    const cost = seededMatrix(300, 300, 99);
    const started = performance.now();
    const result = hungarian(cost);
    const elapsedMs = performance.now() - started;
    expectValidAssignment(cost, result);
    const diagonal = cost.reduce((s, row, i) => s + row[i]!, 0);
    expect(result.total).toBeLessThanOrEqual(diagonal);
    // O(n^3) = 2.7e7 steps; a slip to exponential or O(n^4) search would blow far past this.
    expect(elapsedMs).toBeLessThan(5000);
  });
});
