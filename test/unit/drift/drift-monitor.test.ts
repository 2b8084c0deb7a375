import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { driftConfigSchema } from '../../../src/drift/config.js';
import type { DriftBatch, DriftReport } from '../../../src/drift/drift-monitor.js';
import { DriftMonitor } from '../../../src/drift/drift-monitor.js';

/** A batch of n records over k clusters with the given shares, distances ~ |N(mu, 1)|-ish. */
function batch(rng: SeededRandom, n: number, shares: number[], distanceMean: number): DriftBatch {
  const clusterIds = new Int32Array(n);
  const distances = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.next();
    let c = 0;
    while (c < shares.length - 1 && u >= shares[c]!) u -= shares[c++]!;
    clusterIds[i] = c;
    distances[i] = Math.max(0, distanceMean + 0.1 * rng.gaussian());
    // Two draws that were the inputs of a removed test, so the distances stay the same numbers.
    rng.gaussian();
    rng.gaussian();
  }
  return { clusterIds, distances };
}

const config = { referenceRecords: 2000, windowRecords: 2000 };

function feed(m: DriftMonitor, batches: DriftBatch[]): DriftReport[] {
  return batches.map((b) => m.observe(b));
}

describe('DriftMonitor', () => {
  it('reports NaN until the reference is complete, then compares windows', () => {
    const rng = new SeededRandom(1);
    const m = new DriftMonitor(config);
    const first = m.observe(batch(rng, 1000, [0.5, 0.5], 1));
    expect(first.referenceReady).toBe(false);
    expect(first.assignmentPsi).toBeNaN();
    expect(first.distanceMean).toBeCloseTo(1, 1);
    const second = m.observe(batch(rng, 1000, [0.5, 0.5], 1));
    expect(second.referenceReady).toBe(true);
    const after = feed(
      m,
      [0, 1].map(() => batch(rng, 1000, [0.5, 0.5], 1)),
    );
    expect(after[1]!.assignmentPsi).toBeLessThan(0.01);
    expect(after[1]!.clusterEntropy).toBeGreaterThan(0.99);
    expect(after[1]!.events).toEqual([]);
    expect(after[1]!.records).toBe(4000);
  });

  it('computes PSI, JS and entropy of the window against the reference by their formulas', () => {
    const m = new DriftMonitor({
      ...config,
      referenceRecords: 4,
      windowRecords: 4,
      alerts: { assignmentPsi: 100, assignmentJs: 1 },
    });
    const ids = (xs: number[]) => ({
      clusterIds: Int32Array.from(xs),
      distances: new Float32Array(xs.length).fill(1),
    });
    m.observe(ids([0, 0, 1, 1]));
    const r = m.observe(ids([0, 0, 0, 1]));
    // Reference (1/2, 1/2), window (3/4, 1/4).
    const psi = (0.75 - 0.5) * Math.log(0.75 / 0.5) + (0.25 - 0.5) * Math.log(0.25 / 0.5);
    expect(r.assignmentPsi).toBeCloseTo(psi, 6);
    const kl = (p: number[], q: number[]) =>
      p.reduce((s, v, i) => s + (v > 0 ? v * Math.log2(v / q[i]!) : 0), 0);
    const mid = [0.625, 0.375];
    expect(r.assignmentJs).toBeCloseTo(0.5 * kl([0.5, 0.5], mid) + 0.5 * kl([0.75, 0.25], mid), 12);
    expect(r.clusterEntropy).toBeCloseTo(
      -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)) / Math.log(2),
      12,
    );
  });

  it('raises one assignment-drift event for a lasting shift and re-arms after it clears', () => {
    const rng = new SeededRandom(2);
    const m = new DriftMonitor(config);
    feed(
      m,
      [0, 1].map(() => batch(rng, 1000, [0.5, 0.5], 1)),
    );
    const shifted = feed(
      m,
      Array.from({ length: 6 }, () => batch(rng, 1000, [0.95, 0.05], 1)),
    );
    const events = shifted.flatMap((r) => r.events).filter((e) => e.kind === 'assignment-drift');
    expect(events.map((e) => e.detector).sort()).toEqual(['assignment-js', 'assignment-psi']);
    const psiEvent = events.find((e) => e.detector === 'assignment-psi')!;
    // The first shifted batch already crosses: the window then holds records 2000..2999.
    expect([psiEvent.windowStart, psiEvent.windowEnd]).toEqual([2000, 2999]);
    const back = feed(
      m,
      Array.from({ length: 4 }, () => batch(rng, 1000, [0.5, 0.5], 1)),
    );
    expect(back.flatMap((r) => r.events)).toEqual([]);
    const again = feed(
      m,
      Array.from({ length: 4 }, () => batch(rng, 1000, [0.95, 0.05], 1)),
    );
    expect(
      again.flatMap((r) => r.events).filter((e) => e.detector === 'assignment-psi'),
    ).toHaveLength(1);
  });

  it('finds distances that rise with Page-Hinkley and ADWIN, and the outliers among them', () => {
    const rng = new SeededRandom(3);
    // The draws of a removed input-drift case, so that the distances below are the ones the
    // bounds were set on.
    for (let i = 0; i < 7; i++) batch(rng, 1000, [0.5, 0.5], 1);
    const embeddingOnly = new DriftMonitor(config);
    // Reference (records 0..1999), then three steady batches: the detectors compare against
    // what they saw themselves, so a change needs some history before it.
    feed(
      embeddingOnly,
      [0, 1, 2, 3, 4].map(() => batch(rng, 1000, [0.5, 0.5], 1)),
    );
    const b = feed(
      embeddingOnly,
      Array.from({ length: 5 }, () => batch(rng, 1000, [0.5, 0.5], 1.3)),
    );
    const bEvents = b.flatMap((r) => r.events);
    expect(new Set(bEvents.map((e) => e.kind))).toEqual(new Set(['embedding-drift']));
    expect(new Set(bEvents.map((e) => e.detector))).toEqual(new Set(['page-hinkley', 'adwin']));
    const ph = bEvents.find((e) => e.detector === 'page-hinkley')!;
    // Page-Hinkley started at record 2000 (the first after the reference); the distances rose
    // at record 5000 and the alarm follows within a few records.
    expect(ph.windowStart).toBe(2000);
    expect(ph.windowEnd).toBeGreaterThanOrEqual(5000);
    expect(ph.windowEnd).toBeLessThan(5100);
    expect(ph.changeIndex).toBeGreaterThanOrEqual(4950);
    expect(ph.changeIndex).toBeLessThanOrEqual(5001);
    // Reference distances ~ N(1, 0.1): 0.99-quantile ≈ 1.233; under N(1.3, 0.1) a share
    // P(z > −0.67) ≈ 0.75 lies beyond it.
    expect(b[4]!.outlierShare).toBeGreaterThan(0.65);
    expect(b[4]!.outlierShare).toBeLessThan(0.85);
    expect(b[4]!.distanceEwma).toBeCloseTo(1.3, 1);
  });

  it('raises no ADWIN alarm when the distances fall (a model tightening its clusters) unless told to', () => {
    const run = (direction: 'up' | 'both'): string[] => {
      const rng = new SeededRandom(5);
      const m = new DriftMonitor(
        driftConfigSchema.parse({
          ...config,
          pageHinkley: { enabled: false },
          adwin: { direction },
        }),
      );
      feed(
        m,
        [0, 1, 2, 3, 4].map(() => batch(rng, 1000, [0.5, 0.5], 1)),
      );
      return feed(
        m,
        Array.from({ length: 5 }, () => batch(rng, 1000, [0.5, 0.5], 0.7)),
      ).flatMap((r) => r.events.map((e) => e.detector));
    };
    expect(run('up')).toEqual([]);
    expect(run('both')).toContain('adwin');
    expect(driftConfigSchema.parse({}).adwin.direction).toBe('up');
  });

  it('measures centroid displacement per batch and since the reference, and near-empty clusters', () => {
    const m = new DriftMonitor({ ...config, referenceRecords: 3, windowRecords: 3 });
    const set = (xs: number[]) => ({
      ids: Int32Array.from([0, 1, 2]),
      data: Float32Array.from(xs),
    });
    const base = set([0, 0, 1, 1, 5, 5]);
    const r0 = m.observe({
      clusterIds: Int32Array.from([0, 1, 2]),
      distances: new Float32Array(3),
      centroids: { before: base, after: base },
    });
    expect(r0.centroidShiftMean).toBe(0);
    const moved = set([3, 4, 1, 1, 5, 5]);
    const r1 = m.observe({
      clusterIds: Int32Array.from([0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1]),
      distances: new Float32Array(20),
      centroids: { before: base, after: moved },
    });
    expect(r1.centroidShiftMean).toBeCloseTo(5 / 3, 6);
    expect(r1.centroidShiftMax).toBeCloseTo(5, 6);
    expect(r1.centroidShiftFromReference).toBeCloseTo(5 / 3, 6);
    // Cluster 2 received nothing in the window: one near-empty cluster of three.
    expect(r1.nearEmptyClusters).toBe(1);
  });

  it('validates its configuration with defaults for every key', () => {
    const d = driftConfigSchema.parse({});
    expect(d.pageHinkley).toMatchObject({ enabled: true, alpha: 1, threshold: 50 });
    expect(driftConfigSchema.safeParse({ outlierQuantile: 1.5 }).success).toBe(false);
    expect(() => new DriftMonitor({ windowRecords: 0 })).toThrow();
  });
});
