/**
 * Cluster profiles in input units: a seeded mixture whose generator shifts two named columns
 * per cluster, run through the real pipeline from a CSV file, and each cluster's profile names
 * the columns its generator shifted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ClusterProfiles } from '../../../src/cluster/cluster-profiles.js';
import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { COLUMNS, SHIFTED, mixtureCsv } from '../../helpers/profile-mixture.js';

describe('cluster profiles', () => {
  it('name the columns the generator shifted for each cluster, in input units', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-profiles-'));
    try {
      const file = join(dir, 'mixture.csv');
      mixtureCsv(file, 3_000, 5);
      const config = validateConfig({
        source: 'file',
        file: { path: file },
        decode: { fields: COLUMNS },
        model: { kind: 'none' },
        cluster: { k: 3, warmupSize: 300 },
        sinks: { assignments: 'none' },
        http: { enabled: false },
        log: { level: 'silent', statusIntervalMs: 0 },
      });
      const pipeline = await createPipeline(config, {
        logger: silentLogger,
        metrics: new Metrics({ defaultMetrics: false }),
      });
      await pipeline.run();
      const view = pipeline.clusters() as {
        clusters: {
          id: number;
          profile: {
            share: number;
            features: { feature: string; mean: number; sd: number }[];
            distinguishing: { feature: string; difference: number }[];
            examples: string[];
          } | null;
        }[];
      };
      expect(view.clusters).toHaveLength(3);
      const found = view.clusters.map((c) => {
        const profile = c.profile!;
        // The two shifted columns lead, both well above the rest (+8 sd against the others).
        const top = profile.distinguishing
          .slice(0, 2)
          .map((f) => f.feature)
          .sort();
        for (const f of profile.distinguishing.slice(0, 2)) expect(f.difference).toBeGreaterThan(2);
        // Means in input units: about 18 where shifted, about 10 elsewhere, spread about 1.
        for (const f of profile.features) {
          expect(f.mean).toBeCloseTo(top.includes(f.feature) ? 18 : 10, 0);
          expect(f.sd).toBeGreaterThan(0.7);
          expect(f.sd).toBeLessThan(1.3);
        }
        expect(profile.share).toBeGreaterThan(0.28);
        expect(profile.examples.length).toBeGreaterThan(0);
        const kind = SHIFTED.findIndex((s) => [...s].sort().join() === top.join());
        // File records have no key: an example is where it was, file:0@line.
        for (const example of profile.examples) {
          const line = Number(example.split('@')[1]);
          expect((line - 2) % 3, example).toBe(kind);
        }
        return top.join('+');
      });
      expect(found.sort()).toEqual(SHIFTED.map((s) => [...s].sort().join('+')).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('go out with the event of a cluster born mid-stream, naming what its records hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-profiles-'));
    try {
      // Two kinds for the first 1,500 rows; then the third kind (disk and net high) appears.
      const file = join(dir, 'mixture.csv');
      mixtureCsv(file, 3_000, 7, (i) => (i < 1_500 ? i % 2 : i % 3));
      const events = join(dir, 'events.jsonl');
      const pipeline = await createPipeline(
        validateConfig({
          source: 'file',
          file: { path: file },
          decode: { fields: COLUMNS },
          model: { kind: 'none' },
          // Adaptive k as its own tests tune it, so that the new kind opens a cluster.
          cluster: {
            k: 2,
            warmupSize: 300,
            decay: { unit: 'batches', halfLife: 3 },
            adaptive: { enabled: true, maxClusters: 3, patienceBatches: 2 },
          },
          sinks: { assignments: 'none', eventsFile: events },
          http: { enabled: false },
          log: { level: 'silent', statusIntervalMs: 0 },
        }),
        { logger: silentLogger, metrics: new Metrics({ defaultMetrics: false }) },
      );
      await pipeline.run();
      const lifecycle = readFileSync(events, 'utf8')
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              type: string;
              kind: string;
              detail: {
                batch: number;
                profile?: {
                  share: number;
                  distinguishing: { feature: string; difference: number }[];
                };
              };
            },
        )
        .filter((e) => e.type === 'lifecycle');
      // The two seeded clusters, then exactly one born from the new kind of record.
      const born = lifecycle.filter((e) => e.kind === 'born' && e.detail.batch > 0);
      expect(born, JSON.stringify(lifecycle)).toHaveLength(1);
      const profile = born[0]!.detail.profile!;
      expect(
        profile.distinguishing
          .slice(0, 2)
          .map((f) => f.feature)
          .sort(),
      ).toEqual(['disk', 'net']);
      expect(profile.distinguishing[0]!.difference).toBeGreaterThan(2);
      expect(profile.share).toBeGreaterThan(0);
      // The event carries the summary, not every feature.
      expect(profile).not.toHaveProperty('features');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forget old records with the half-life and drop clusters that are gone', () => {
    const profiles = new ClusterProfiles(1, ['x'], 100);
    const record = (key: string | null) => ({
      key: key === null ? null : Buffer.from(key),
      topic: 't',
      partition: 2,
      offset: '9',
    });
    profiles.update(Int32Array.of(0, 1), Float32Array.of(1, 5), [record(null), record('k')]);
    // 1,000 records later (10 half-lives) the first ones weigh about 2^-10.
    for (let i = 0; i < 10; i++)
      profiles.update(new Int32Array(100), new Float32Array(100).fill(3), []);
    expect(profiles.profile(0)!.features[0]!.mean).toBeCloseTo(3, 2);
    expect(profiles.profile(1)!.weight).toBeLessThan(0.002);
    expect(profiles.profile(1)!.examples).toEqual(['k']);
    // A record without a key is named by where it was.
    expect(profiles.all().get(0)!.examples.slice(0, 1)).toEqual(['t:2@9']);
    profiles.retain([0]);
    expect(profiles.profile(1)).toBeUndefined();
  });
});
