import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { Adwin } from '../../../src/drift/adwin.js';
import { normalisedEntropy } from '../../../src/drift/entropy.js';
import { jsDivergence } from '../../../src/drift/js-divergence.js';
import { PageHinkley } from '../../../src/drift/page-hinkley.js';
import { psi } from '../../../src/drift/psi.js';

const ph = { delta: 0.005, threshold: 50, alpha: 1, minInstances: 30, direction: 'up' as const };
const adwin = { delta: 0.002, clock: 32, maxBuckets: 5, minWindow: 5, gracePeriod: 10 };

describe('PageHinkley', () => {
  it('runs the documented example', () => {
    const d = new PageHinkley(ph);
    const hits = Array.from({ length: 3000 }, (_, i) => d.update(i < 1000 ? 0 : 1)).filter(
      (h) => h !== null,
    );
    expect(hits[0]).toMatchObject({
      index: 1051,
      windowStart: 0,
      changeIndex: 1000,
      direction: 'up',
    });
    // After the alarm it starts over on a constant stream and stays quiet.
    expect(hits).toHaveLength(1);
  });

  it('stays quiet on stationary noise, catches a mean rise, and a fall only when asked', () => {
    const rng = new SeededRandom(4);
    const noise = Array.from({ length: 200_000 }, () => rng.gaussian());
    const quiet = new PageHinkley({ ...ph, delta: 0.1, threshold: 50 });
    expect(noise.filter((x) => quiet.update(x) !== null)).toHaveLength(0);
    const up = new PageHinkley({ ...ph, delta: 0.1 });
    const down = new PageHinkley({ ...ph, delta: 0.1, direction: 'both' });
    const upOnly = new PageHinkley({ ...ph, delta: 0.1 });
    const rise = noise.slice(0, 5000).map((x, i) => (i < 2000 ? x : x + 1));
    const fall = noise.slice(0, 5000).map((x, i) => (i < 2000 ? x : x - 1));
    const firstUp = rise.map((x) => up.update(x)).find((h) => h !== null)!;
    expect(firstUp.index).toBeGreaterThan(2000);
    expect(firstUp.index).toBeLessThan(2200);
    expect(fall.map((x) => down.update(x)).find((h) => h !== null)).toMatchObject({
      direction: 'down',
    });
    expect(fall.map((x) => upOnly.update(x)).filter((h) => h !== null)).toHaveLength(0);
  });
});

describe('Adwin', () => {
  it('runs the documented example', () => {
    const d = new Adwin(adwin);
    const hits = Array.from({ length: 4000 }, (_, i) =>
      d.update(i < 2000 ? i % 2 : 2 + (i % 2)),
    ).filter((h) => h !== null);
    expect(hits[0]).toMatchObject({
      index: 2015,
      windowStart: 0,
      changeIndex: 1960,
      direction: 'up',
    });
    // After the cut the window holds mostly the new regime: its mean is close to 2.5.
    expect(Math.abs(d.windowMean - 2.5)).toBeLessThan(0.05);
  });

  it('keeps the exact mean of a stationary window and raises no alarm', () => {
    const rng = new SeededRandom(5);
    // The monitor's default delta; with 0.002 this seed raises one (legitimate) false alarm in
    // 50,000 values, the price of testing every split every 32 values.
    const d = new Adwin({ ...adwin, delta: 0.0002 });
    let sum = 0;
    let alarms = 0;
    for (let i = 0; i < 50_000; i++) {
      const x = rng.gaussian();
      sum += x;
      if (d.update(x) !== null) alarms++;
    }
    expect(alarms).toBe(0);
    expect(d.windowWidth).toBe(50_000);
    expect(d.windowMean).toBeCloseTo(sum / 50_000, 9);
  });
});

describe('distribution statistics', () => {
  it('psi matches the closed form and is symmetric', () => {
    const expected = 0.4 * Math.log(0.9 / 0.5) + -0.4 * Math.log(0.1 / 0.5);
    expect(psi([50, 50], [90, 10])).toBeCloseTo(expected, 12);
    expect(psi([90, 10], [50, 50])).toBeCloseTo(expected, 12);
    expect(psi([3, 3, 3], [1, 1, 1])).toBe(0);
    // An empty category is floored at epsilon instead of making the sum infinite.
    expect(Number.isFinite(psi([1, 0], [0, 1]))).toBe(true);
    expect(() => psi([1], [1, 2])).toThrow('psi: expected has 1 categories, actual 2');
  });

  it('Jensen-Shannon divergence is bounded by one bit and matches the closed form', () => {
    expect(jsDivergence([1, 0], [0, 1])).toBe(1);
    expect(jsDivergence([2, 2], [5, 5])).toBe(0);
    // P = (3/4, 1/4), Q = (1/4, 3/4), M = (1/2, 1/2): JS = 1 − H2(1/4).
    const h = -(0.75 * Math.log2(0.75) + 0.25 * Math.log2(0.25));
    expect(jsDivergence([3, 1], [1, 3])).toBeCloseTo(1 - h, 12);
  });

  it('normalised entropy is 1 for equal sizes and falls with imbalance', () => {
    expect(normalisedEntropy([10, 10, 10, 10])).toBeCloseTo(1, 12);
    expect(normalisedEntropy([1, 0])).toBe(0);
    expect(normalisedEntropy([3, 1])).toBeCloseTo(
      -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)) / Math.log(2),
      12,
    );
    expect(normalisedEntropy([])).toBe(0);
  });
});
