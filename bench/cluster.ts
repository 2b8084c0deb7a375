import { pathToFileURL } from 'node:url';
import { OnlineKMeans } from '../src/cluster/online-k-means.js';
import { SeededRandom } from '../src/cluster/seeded-random.js';
import type { DriftDetector, DriftEvent } from '../src/drift/drift-monitor.js';
import { DriftMonitor } from '../src/drift/drift-monitor.js';

/*
 * Benchmarks of the centroid store and the drift monitor; prints markdown tables.
 *
 * 1. Throughput of assign + update (OnlineKMeans.update) at d = 32, k = 64 and d = 128,
 *    k = 256, batch 1,024, against the simplest loop implementation of the same rule (arrays of
 *    numbers, direct squared distances, a fresh array per record), run back to back.
 * 2. Drift detection on seeded synthetic Gaussian-mixture streams with an abrupt shift, a
 *    gradual drift, a cluster birth and a cluster death at a known record, plus a stationary
 *    stream: detection delay in records per detector, and false alarms per million records on
 *    the stationary one. The streams are generated here (not by the product's synthetic
 *    source) so the figures only move when the store or the monitor changes.
 *
 * `npx tsx bench/cluster.ts [--quick]`
 */

function randomUnitRows(rng: SeededRandom, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const v = rng.gaussian();
      out[i * dim + t] = v;
      s += v * v;
    }
    for (let t = 0; t < dim; t++) out[i * dim + t]! /= Math.sqrt(s);
  }
  return out;
}

/** The simplest loop implementation of assign + update (the baseline of the ratio). */
class NaiveKMeans {
  centroids: number[][];
  weights: number[];

  constructor(init: Float32Array, k: number, dim: number) {
    this.centroids = Array.from({ length: k }, (_, j) =>
      Array.from(init.subarray(j * dim, (j + 1) * dim)),
    );
    this.weights = new Array<number>(k).fill(1);
  }

  update(points: Float32Array, dim: number): number[] {
    const k = this.centroids.length;
    const labels: number[] = [];
    const sums = Array.from({ length: k }, () => new Array<number>(dim).fill(0));
    const counts = new Array<number>(k).fill(0);
    for (let i = 0; i < points.length / dim; i++) {
      const x = Array.from(points.subarray(i * dim, (i + 1) * dim));
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < k; j++) {
        let d = 0;
        for (let t = 0; t < dim; t++) d += (x[t]! - this.centroids[j]![t]!) ** 2;
        if (d < bestD) [bestD, best] = [d, j];
      }
      labels.push(best);
      counts[best]! += 1;
      for (let t = 0; t < dim; t++) sums[best]![t]! += x[t]!;
    }
    for (let j = 0; j < k; j++) {
      const w = this.weights[j]! + counts[j]!;
      for (let t = 0; t < dim; t++) {
        this.centroids[j]![t] = (this.weights[j]! * this.centroids[j]![t]! + sums[j]![t]!) / w;
      }
      this.weights[j] = w;
    }
    return labels;
  }
}

function throughput(dim: number, k: number, batches: number): string {
  const rng = new SeededRandom(dim * 1000 + k);
  const batchSize = 1024;
  const data = Array.from({ length: batches }, () => randomUnitRows(rng, batchSize, dim));
  const init = randomUnitRows(rng, k, dim);
  const store = new OnlineKMeans({
    k,
    dim,
    initialCentroids: init,
    initialWeights: new Float64Array(k).fill(1),
    decay: { unit: 'none' },
    recovery: { enabled: false },
  });
  const naive = new NaiveKMeans(init, k, dim);
  // One warm-up batch each, so both run JIT-compiled code when timed.
  store.update(data[0]!);
  naive.update(data[0]!, dim);
  // Interleaved per batch, so both see the same machine load (the cores are shared).
  let storeS = 0;
  let naiveS = 0;
  for (const b of data) {
    let t = performance.now();
    store.update(b);
    storeS += (performance.now() - t) / 1000;
    t = performance.now();
    naive.update(b, dim);
    naiveS += (performance.now() - t) / 1000;
  }
  const records = batches * batchSize;
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  return `| ${dim} | ${k} | ${batchSize} | ${fmt(records / storeS)} | ${fmt(records / naiveS)} | ${(naiveS / storeS).toFixed(2)}× |`;
}

type Scenario = 'stationary' | 'abrupt shift' | 'gradual drift' | 'cluster birth' | 'cluster death';

interface StreamSpec {
  scenario: Scenario;
  length: number;
  changeAt: number;
}

const DIM = 8;
const K = 6;
const BATCH = 1000;

/** Mixture means and shares at record index i for a scenario (the change starts at changeAt). */
function mixtureAt(
  spec: StreamSpec,
  base: number[][],
  offset: number[],
  extra: number[],
  i: number,
) {
  const after = i >= spec.changeAt;
  switch (spec.scenario) {
    case 'stationary':
      return { means: base, shares: null };
    case 'abrupt shift':
      return {
        means: after ? base.map((m) => m.map((v, t) => v + offset[t]!)) : base,
        shares: null,
      };
    case 'gradual drift': {
      const f = Math.min(1, Math.max(0, (i - spec.changeAt) / 50_000));
      return { means: base.map((m) => m.map((v, t) => v + f * offset[t]!)), shares: null };
    }
    case 'cluster birth':
      return { means: after ? [...base, extra] : base, shares: null };
    case 'cluster death':
      return { means: after ? base.slice(1) : base, shares: null };
  }
}

function runStream(spec: StreamSpec, seed: number): DriftEvent[] {
  const rng = new SeededRandom(seed);
  const base = Array.from({ length: K }, () =>
    Array.from({ length: DIM }, () => 3 * rng.gaussian()),
  );
  const offset = Array.from({ length: DIM }, () => rng.gaussian());
  const norm = Math.hypot(...offset);
  // A shift of 1.5 within-cluster standard deviations in a random direction.
  offset.forEach((v, t) => (offset[t] = (1.5 * v) / norm));
  const extra = Array.from({ length: DIM }, () => 3 * rng.gaussian());
  const store = new OnlineKMeans({
    k: K,
    dim: DIM,
    seed,
    warmupSize: 2000,
    decay: { unit: 'points', halfLife: 50_000 },
  });
  const monitor = new DriftMonitor({});
  const events: DriftEvent[] = [];
  for (let start = 0; start < spec.length; start += BATCH) {
    const x = new Float32Array(BATCH * DIM);
    for (let i = 0; i < BATCH; i++) {
      const { means } = mixtureAt(spec, base, offset, extra, start + i);
      const m = means[rng.nextInt(means.length)]!;
      for (let t = 0; t < DIM; t++) x[i * DIM + t] = m[t]! + rng.gaussian();
    }
    if (!store.ready) {
      store.observe(x);
      continue;
    }
    const before = store.centroids();
    const u = store.update(x);
    const after = store.centroids();
    const report = monitor.observe({
      clusterIds: u.clusterIds,
      distances: u.distances,
      centroids: {
        before: { ids: before.ids, data: before.data },
        after: { ids: after.ids, data: after.data },
      },
    });
    // The monitor counts records from its first batch; the stream counts from its own start.
    const shift = start - (report.records - BATCH);
    for (const e of report.events)
      events.push({
        ...e,
        windowStart: e.windowStart + shift,
        windowEnd: e.windowEnd + shift,
        changeIndex: e.changeIndex + shift,
      });
  }
  return events;
}

const DETECTORS: DriftDetector[] = ['page-hinkley', 'adwin', 'assignment-psi', 'assignment-js'];

function driftTables(quick: boolean): string[] {
  const changeAt = quick ? 40_000 : 100_000;
  const length = quick ? 100_000 : 250_000;
  const stationaryLength = quick ? 200_000 : 1_000_000;
  const lines = [
    `| stream | ${DETECTORS.join(' | ')} |`,
    `|---|${DETECTORS.map(() => '---:').join('|')}|`,
  ];
  for (const scenario of [
    'abrupt shift',
    'gradual drift',
    'cluster birth',
    'cluster death',
  ] as Scenario[]) {
    const events = runStream({ scenario, length, changeAt }, 17);
    const cells = DETECTORS.map((d) => {
      const mine = events.filter((e) => e.detector === d);
      const early = mine.filter((e) => e.windowEnd < changeAt).length;
      const hit = mine.find((e) => e.windowEnd >= changeAt);
      const delay =
        hit === undefined ? 'missed' : (hit.windowEnd - changeAt).toLocaleString('en-US');
      return early > 0 ? `${delay} (${early} early)` : delay;
    });
    lines.push(`| ${scenario} | ${cells.join(' | ')} |`);
  }
  const stationary = runStream(
    { scenario: 'stationary', length: stationaryLength, changeAt: Infinity },
    23,
  );
  const perMillion = DETECTORS.map((d) =>
    ((stationary.filter((e) => e.detector === d).length * 1e6) / stationaryLength).toFixed(1),
  );
  lines.push(
    `| stationary: false alarms per million records (${stationaryLength.toLocaleString('en-US')} records) | ${perMillion.join(' | ')} |`,
  );
  return lines;
}

export async function runClusterBench(options: { quick?: boolean } = {}): Promise<void> {
  const quick = options.quick === true;
  console.log('## OnlineKMeans throughput: assign + update, batch 1,024 (records per second)\n');
  console.log('| d | k | batch | OnlineKMeans | simplest loop | ratio |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(throughput(32, 64, quick ? 20 : 100));
  console.log(throughput(128, 256, quick ? 5 : 25));
  console.log(
    `\n## Drift detection delay in records after the change (stream: d = ${DIM}, k = ${K}, batch ${BATCH.toLocaleString('en-US')}, decay half-life 50,000 points, default drift config)\n`,
  );
  for (const line of driftTables(quick)) console.log(line);
  console.log('\n"(n early)": alarms raised before the change, i.e. false alarms on that stream.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runClusterBench({ quick: process.argv.includes('--quick') });
}
