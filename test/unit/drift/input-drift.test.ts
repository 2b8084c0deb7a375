import { describe, expect, it } from 'vitest';

import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { DriftIncidents } from '../../../src/drift/incidents.js';
import { InputDrift, type InputDriftCheck } from '../../../src/drift/input-drift.js';
import { chiSquareCritical, ksCritical, normalUpperQuantile } from '../../../src/drift/tests.js';
import { TELEMETRY_DIM, TelemetryStream, type ChangeKind } from '../../helpers/telemetry-stream.js';

describe('critical values', () => {
  it('match the tables', () => {
    // Massey's c(0.05) = 1.358; n = m = 1000.
    expect(ksCritical(1000, 1000, 0.05)).toBeCloseTo(1.3581 * Math.sqrt(2 / 1000), 4);
    expect(normalUpperQuantile(0.025)).toBeCloseTo(1.95996, 4);
    expect(normalUpperQuantile(1e-6)).toBeCloseTo(4.75342, 3);
    // χ² tables: 18.307 (10 df, 5 %), 30.578 (15 df, 1 %); Wilson–Hilferty is within 0.1.
    expect(chiSquareCritical(10, 0.05)).toBeCloseTo(18.307, 0);
    expect(chiSquareCritical(15, 0.01)).toBeCloseTo(30.578, 0);
  });
});

/** Runs a stream through the tests, renewing the reference at each detection as incidents do. */
function run(kind: ChangeKind, seed: number, records: number, at = 20_000) {
  const stream = new TelemetryStream(seed, kind, at);
  const drift = new InputDrift(TELEMETRY_DIM);
  const incidents = new DriftIncidents({ quietRecords: 10_000, settleRecords: 2_000 });
  const detections: InputDriftCheck[] = [];
  for (let done = 0; done < records; done += 500) {
    const batch = new Float32Array(500 * TELEMETRY_DIM);
    for (let r = 0; r < 500; r++) batch.set(stream.next().features, r * TELEMETRY_DIM);
    for (const check of drift.observe(batch))
      if (incidents.onCheck(check, 0) !== null) detections.push(check);
    if (incidents.renewalDue(done + 500)) drift.rebase();
    incidents.onRecords(done + 500, 0);
  }
  return { detections, incidents: incidents.history };
}

describe('InputDrift on mixed-scale telemetry (log-normal, zero-inflated counts, fractions)', () => {
  it('stays silent on a stationary stream, zero-inflated counts included', () => {
    const { detections } = run('stationary', 5, 150_000);
    expect(detections).toEqual([]);
  });

  it.each([
    ['abrupt shift', 'feature-ks'],
    ['cluster birth', 'input-outliers'],
    ['cluster death', 'prototype-shares'],
    ['variance change', 'input-outliers'],
    ['zero-inflated count', 'feature-ks'],
  ] as const)('finds a %s within 2,000 records, by %s, as one incident', (kind, test) => {
    const { detections, incidents } = run(kind, 6, 40_000);
    expect(incidents).toHaveLength(1);
    const first = detections[0]!;
    expect(first.atRecord).toBeGreaterThanOrEqual(20_000);
    expect(first.atRecord).toBeLessThan(22_000);
    expect(incidents[0]!.detectors).toContain(test);
    expect(incidents[0]!.state).toBe('closed');
    const named = incidents[0]!.features;
    if (kind === 'zero-inflated count') {
      // The count feature 8 lost two thirds of its zeros: it alone is named.
      expect(named.map((f) => f.feature)).toEqual([8]);
      expect(named[0]!.meanShift).toBeGreaterThan(0);
    }
    if (kind === 'abrupt shift') {
      // The four log-normal durations 0..3 moved, up; nothing else is named.
      expect(named.map((f) => f.feature).sort()).toEqual([0, 1, 2, 3]);
      for (const f of named) expect(f.meanShift).toBeGreaterThan(0);
    }
  });

  it('keeps a gradual drift of 10,000 records one incident', () => {
    const { detections, incidents } = run('gradual drift', 7, 50_000);
    expect(detections.length).toBeGreaterThan(1);
    expect(incidents).toHaveLength(1);
    expect(detections[0]!.atRecord).toBeLessThan(32_000);
  });

  it('does not depend on the features scales', () => {
    const rng = new SeededRandom(9);
    const drift = new InputDrift(2, { referenceRecords: 1000, windowRecords: 1000 });
    const found: InputDriftCheck[] = [];
    for (let i = 0; i < 4000; i++) {
      // Feature 0 in the millions, feature 1 in thousandths; from record 2000 both shift by
      // half a standard deviation.
      const shift = i >= 2000 ? 0.5 : 0;
      const row = Float32Array.of(
        1e6 * (1 + rng.gaussian() + shift),
        1e-3 * (rng.gaussian() + shift),
      );
      found.push(...drift.observe(row).filter((c) => c.drift));
    }
    expect(found.length).toBeGreaterThan(0);
    const last = found[found.length - 1]!;
    expect(last.features.map((f) => f.feature).sort()).toEqual([0, 1]);
    for (const f of last.features) {
      expect(f.statistic).toBeGreaterThan(f.threshold);
      expect(f.meanShift).toBeCloseTo(0.5, 0);
    }
  });
});

describe('InputDrift above 64 features', () => {
  it('tests every ceil(d / 64)-th record, and still finds a shift, in proportionally more records', () => {
    const d = 200;
    const drift = new InputDrift(d);
    expect(drift.sampleEvery).toBe(4);
    const rng = new SeededRandom(4);
    const found: InputDriftCheck[] = [];
    const batch = new Float32Array(500 * d);
    for (let done = 0; done < 30_000; done += 500) {
      // From record 20,000 on, features 0..9 move by one standard deviation.
      for (let i = 0; i < batch.length; i++) {
        const shift = done >= 20_000 && i % d < 10 ? 1 : 0;
        batch[i] = rng.gaussian() + shift;
      }
      found.push(...drift.observe(batch).filter((c) => c.drift));
    }
    // The reference and the window are 2,000 tested records: 8,000 records here.
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.atRecord).toBeGreaterThan(20_000);
    expect(found[0]!.atRecord).toBeLessThanOrEqual(28_000);
    expect(
      found[0]!.features.filter((f) => f.statistic > f.threshold).every((f) => f.feature < 10),
    ).toBe(true);
  });
});

describe('DriftIncidents', () => {
  const check = (atRecord: number, severity: number): InputDriftCheck => ({
    atRecord,
    windowStart: atRecord - 1999,
    drift: severity > 1,
    features: [{ feature: 3, statistic: 0.1 * severity, threshold: 0.1, meanShift: 1.5 }],
    shares: { statistic: 0, threshold: 1, degreesOfFreedom: 15 },
    distance: { statistic: 0, threshold: 1 },
    outliers: { share: 0.01, referenceShare: 0.01, statistic: 0, threshold: 5 },
    severity,
  });

  it('opens one incident, extends it while detections go on, closes it after the quiet period', () => {
    const incidents = new DriftIncidents({
      quietRecords: 1000,
      settleRecords: 500,
      featureNames: ['a', 'b', 'c', 'latency_ms'],
    });
    expect(incidents.onCheck(check(4000, 0.2), 0)).toBeNull();
    expect(incidents.onCheck(check(4250, 0.8), 0)).toBeNull();
    const opened = incidents.onCheck(check(4500, 1.5), 10)!;
    expect(opened.change).toBe('opened');
    // Since the last check that looked like the reference (below half of every critical value).
    expect(opened.incident.since).toBe(4000);
    expect(opened.incident.features[0]!.name).toBe('latency_ms');
    expect(opened.incident.level).toBe('minor');
    expect(incidents.onCheck(check(4750, 6), 20)!.change).toBe('extended');
    expect(incidents.open!.level).toBe('critical');
    incidents.corroborate('adwin');
    // A window after the first detection the reference is renewed, once.
    expect(incidents.renewalDue(4900)).toBe(false);
    expect(incidents.renewalDue(5000)).toBe(true);
    expect(incidents.renewalDue(5250)).toBe(false);
    expect(incidents.onRecords(5700, 30)).toBeNull();
    const closed = incidents.onRecords(5750, 40)!;
    expect(closed.change).toBe('closed');
    expect(closed.incident).toMatchObject({
      id: 1,
      state: 'closed',
      detections: 2,
      closedAt: 5750,
      detectors: ['feature-ks', 'adwin'],
    });
    expect(incidents.open).toBeNull();
    expect(incidents.onCheck(check(9000, 2), 50)!.incident.id).toBe(2);
  });
});
