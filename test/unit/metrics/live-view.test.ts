import { describe, expect, it } from 'vitest';

import { startHttpServer } from '../../../src/metrics/http-server.js';
import { LiveViewState, type LiveBatch } from '../../../src/metrics/live-view-state.js';
import { Metrics } from '../../../src/metrics/metrics.js';

const DIM = 2;

/** A batch of two well-separated clusters on the x axis, around -offset and +offset. */
function liveBatch(at: number, offset: number, drift?: Partial<LiveBatch['drift']>): LiveBatch {
  const n = 20;
  const embeddings = new Float32Array(n * DIM);
  const clusterIds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    clusterIds[i] = i % 2;
    embeddings[i * DIM] = (i % 2 === 0 ? -offset : offset) + (i % 5) * 0.01;
    embeddings[i * DIM + 1] = (i % 3) * 0.01;
  }
  return {
    at,
    records: { length: n },
    embeddings,
    embeddingDim: DIM,
    clusterIds,
    centroids: {
      ids: Int32Array.from([0, 1]),
      data: Float32Array.from([-offset, 0, offset, 0]),
      weights: Float64Array.from([at / 100, at / 50]),
    },
    drift:
      drift === undefined
        ? undefined
        : {
            assignmentPsi: 0.1,
            assignmentJs: Number.NaN,
            distanceEwma: 0.3,
            outlierShare: 0.01,
            centroidShiftMean: 0.001,
            ...drift,
          },
    events:
      at === 3000
        ? [
            {
              type: 'drift',
              kind: 'assignment-drift',
              at,
              detail: { detector: 'assignment-psi' },
            },
          ]
        : [],
    modelVersion: at / 1000,
    storeVersion: at / 1000,
    losses: { total: 0.5 },
  };
}

describe('LiveViewState', () => {
  it('keeps bounded time series sampled per interval, with events and throughput', () => {
    const view = new LiveViewState({ historyPoints: 3, sampleEveryMs: 1000, events: 2 });
    for (let at = 1000; at <= 6000; at += 500) view.onBatch(liveBatch(at, 1, {}));
    const snap = view.snapshot({ backend: 'wasm', now: 6000 });
    // Samples at 1000, 2000, ... 6000 (one per second); the ring keeps the last three.
    expect((snap['sizes'] as { t: number }[]).map((s) => s.t)).toEqual([4000, 5000, 6000]);
    expect((snap['sizes'] as { clusters: Record<string, number> }[])[2]!.clusters).toEqual({
      '0': 60,
      '1': 120,
    });
    const drift = snap['drift'] as Record<string, number | null>[];
    expect(drift[0]).toMatchObject({ psi: 0.1, js: null, ewma: 0.3 });
    expect(snap['events']).toEqual([
      {
        t: 3000,
        type: 'drift',
        kind: 'assignment-drift',
        detector: 'assignment-psi',
        cluster: null,
        incident: null,
        what: null,
      },
    ]);
    // 11 batches of 20 records; those after 6000 - 10000 ms all count, over the 5 s of life.
    expect(snap['recordsPerSecond']).toBeCloseTo(220 / 5, 9);
    expect(snap).toMatchObject({ backend: 'wasm', records: 220, batches: 11, modelVersion: 6 });
  });

  it('keeps drift incidents as spans from their opening to their closing', () => {
    const view = new LiveViewState();
    const incident = (kind: string, at: number, extra: Record<string, unknown>) => ({
      ...liveBatch(at, 1, {}),
      inputDrift: 2.5,
      events: [
        {
          type: 'drift',
          kind,
          at,
          detail: {
            id: 4,
            level: 'major',
            openedAtMs: 1000,
            detectors: ['feature-ks', 'adwin'],
            features: [{ name: 'latency_ms', meanShift: 1.234 }],
            ...extra,
          },
        },
      ],
    });
    view.onBatch(incident('incident-opened', 1000, {}));
    const open = view.snapshot({ now: 1500 });
    expect(open['incidents']).toEqual([
      {
        id: 4,
        from: 1000,
        to: null,
        level: 'major',
        what: 'major: latency_ms +1.23 sd (feature-ks, adwin)',
      },
    ]);
    expect((open['drift'] as { input: number | null }[])[0]!.input).toBe(2.5);
    view.onBatch(incident('incident-closed', 9000, { closedAtMs: 8900 }));
    const closed = view.snapshot({ now: 9500 });
    expect(closed['incidents']).toMatchObject([{ id: 4, from: 1000, to: 8900 }]);
    expect((closed['events'] as { incident: number | null }[]).map((e) => e.incident)).toEqual([
      4, 4,
    ]);
  });

  it('projects recent embeddings and centroids on their principal axis', () => {
    const view = new LiveViewState({ embeddingSample: 50, samplePerBatch: 10 });
    for (let i = 0; i < 10; i++) view.onBatch(liveBatch(1000 + i, 2));
    const projection = view.snapshot()['projection'] as {
      centroids: { id: number; x: number; y: number }[];
      points: { cluster: number; x: number }[];
    };
    expect(projection.points).toHaveLength(50);
    // The clusters sit at x = ±2: the first component separates them.
    const [c0, c1] = projection.centroids;
    expect(Math.abs(c1!.x - c0!.x)).toBeCloseTo(4, 1);
    for (const p of projection.points) {
      const own = p.cluster === 0 ? c0! : c1!;
      expect(Math.abs(p.x - own.x)).toBeLessThan(0.2);
    }
  });
});

describe('LiveViewState and cluster profiles', () => {
  it('says what a born cluster holds in its event and passes the profiles on', () => {
    const view = new LiveViewState();
    const profile = {
      weight: 40,
      share: 0.25,
      distinguishing: [
        { feature: 'latency_ms', mean: 840.2, sd: 120, restMean: 95.1, difference: 3.14 },
        { feature: 'errors', mean: 0.5, sd: 0.1, restMean: 0.02, difference: 1.5 },
      ],
      examples: ['host-7'],
    };
    view.onBatch({
      ...liveBatch(1000, 1),
      events: [
        {
          type: 'lifecycle',
          kind: 'born',
          at: 1000,
          detail: { clusterId: 2, profile },
        },
      ],
    });
    const snap = view.snapshot({ profiles: [{ id: 2, ...profile }] });
    expect(snap['events']).toEqual([
      expect.objectContaining({
        kind: 'born',
        cluster: 2,
        what: 'latency_ms 840 (rest 95.1, +3.1 sd), errors 0.500 (rest 0.0200, +1.5 sd)',
      }),
    ]);
    expect(snap['profiles']).toEqual([{ id: 2, ...profile }]);
  });
});

describe('HTTP endpoints of the live view', () => {
  it('serves the page at / and its data at /api/live, and lists them on a 404', async () => {
    const view = new LiveViewState();
    view.onBatch(liveBatch(1000, 1, {}));
    const server = await startHttpServer('127.0.0.1', 0, {
      registry: new Metrics({ defaultMetrics: false }).registry,
      readiness: () => ({ ready: true, reasons: [] }),
      clusters: () => ({}),
      live: () => view.snapshot({ backend: 'cpu' }),
    });
    try {
      const page = await fetch(`${server.url}/`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).toContain('fetch("api/live"');
      // Self-contained: nothing is loaded from another origin.
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
      const live = (await (await fetch(`${server.url}/api/live`)).json()) as Record<
        string,
        unknown
      >;
      expect(live).toMatchObject({ backend: 'cpu', records: 20 });
      const missing = await fetch(`${server.url}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain('/ (live view)');
    } finally {
      await server.close();
    }
  });

  it('does not serve / without a live view', async () => {
    const server = await startHttpServer('127.0.0.1', 0, {
      registry: new Metrics({ defaultMetrics: false }).registry,
      readiness: () => ({ ready: true, reasons: [] }),
      clusters: () => ({}),
    });
    try {
      expect((await fetch(`${server.url}/`)).status).toBe(404);
      expect((await fetch(`${server.url}/api/live`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
