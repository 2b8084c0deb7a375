import { expect, it } from 'vitest';
import type { OnlineKMeansOptions } from '../../../src/cluster/online-k-means.js';
import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';
import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { mixtureBatch, normaliseRows, randomMeans } from './mixture.js';

/*
 * The contract every clusterer in src/cluster passes (in the spirit of river's `checks/`):
 * inputs are never mutated, a seed fixes the result, snapshot → restore predicts and evolves
 * identically, and shard statistics merge into exactly the unsharded update.
 */
export interface ContractCase {
  name: string;
  options: Omit<OnlineKMeansOptions, 'seed'>;
  normalise?: boolean;
}

function stream(c: ContractCase, seed: number, batches: number, size: number): Float32Array[] {
  const rng = new SeededRandom(seed);
  const means = randomMeans(rng, c.options.k + 1, c.options.dim, 4);
  return Array.from({ length: batches }, (_, b) => {
    // The last component only appears late, so lifecycle rules get something to do.
    const visible = b < batches / 2 ? means.slice(0, -1) : means;
    const x = mixtureBatch(rng, visible, size, 1);
    return c.normalise === true ? normaliseRows(x, c.options.dim) : x;
  });
}

function warmedStore(c: ContractCase, seed: number, data: Float32Array[]): OnlineKMeans {
  const store = new OnlineKMeans({ ...c.options, seed });
  for (const b of data) if (store.observe(b)) break;
  expect(store.ready).toBe(true);
  return store;
}

export function runClustererContract(c: ContractCase): void {
  const data = stream(c, 11, 24, 200);

  it(`${c.name}: does not mutate its inputs`, () => {
    const copies = data.map((b) => Float32Array.from(b));
    const weights = Float32Array.from({ length: 200 }, (_, i) => 0.5 + (i % 3));
    const wCopy = Float32Array.from(weights);
    const store = warmedStore(c, 1, data);
    for (const b of data) {
      store.assign(b);
      store.update(b, { weights, eventTimeMs: 0 });
      store.batchStats(b);
    }
    data.forEach((b, i) => expect(b).toEqual(copies[i]));
    expect(weights).toEqual(wCopy);
  });

  it(`${c.name}: the same seed gives the same result, another seed may not`, () => {
    const run = (seed: number) => {
      const store = warmedStore(c, seed, data);
      const events = data.flatMap((b, i) => store.update(b, { eventTimeMs: i * 1000 }).events);
      return { c: store.centroids(), events: events.map((e) => `${e.kind}:${e.clusterId}`) };
    };
    const a = run(5);
    const b = run(5);
    expect(b.c.data).toEqual(a.c.data);
    expect(b.c.ids).toEqual(a.c.ids);
    expect(b.c.weights).toEqual(a.c.weights);
    expect(b.events).toEqual(a.events);
  });

  it(`${c.name}: snapshot → JSON → restore predicts and evolves identically`, () => {
    const store = warmedStore(c, 3, data);
    data.slice(0, 12).forEach((b, i) => store.update(b, { eventTimeMs: i * 1000 }));
    const restored = OnlineKMeans.restore(JSON.parse(JSON.stringify(store.snapshot())));
    expect(restored.version).toBe(store.version);
    for (const [i, b] of data.slice(12).entries()) {
      expect(restored.assign(b)).toEqual(store.assign(b));
      const x = store.update(b, { eventTimeMs: (12 + i) * 1000 });
      const y = restored.update(b, { eventTimeMs: (12 + i) * 1000 });
      expect(y).toEqual(x);
    }
    expect(restored.centroids64()).toEqual(store.centroids64());
  });

  it(`${c.name}: merged shard statistics equal the unsharded update`, () => {
    const whole = warmedStore(c, 9, data);
    const sharded = warmedStore(c, 9, data);
    for (const [i, b] of data.entries()) {
      const cut = c.options.dim * (37 + 13 * (i % 5));
      const t = { eventTimeMs: i * 1000 };
      const expected = whole.update(b, t);
      const merged = OnlineKMeans.mergeStats(
        sharded.batchStats(b.subarray(0, cut), t),
        sharded.batchStats(b.subarray(cut), t),
      );
      const events = sharded.applyStats(merged);
      expect(events.map((e) => `${e.kind}:${e.clusterId}`)).toEqual(
        expected.events.map((e) => `${e.kind}:${e.clusterId}`),
      );
      const w = whole.centroids64();
      const s = sharded.centroids64();
      expect(s.ids).toEqual(w.ids);
      s.data.forEach((v, j) => expect(v).toBeCloseTo(w.data[j]!, 9));
      s.weights.forEach((v, j) => expect(v).toBeCloseTo(w.weights[j]!, 7));
    }
  });

  it(`${c.name}: batch statistics merge commutatively and associatively`, () => {
    const store = warmedStore(c, 2, data);
    const b = data[20]!;
    const d = c.options.dim;
    const [p, q, r] = [b.subarray(0, 50 * d), b.subarray(50 * d, 120 * d), b.subarray(120 * d)];
    const [sp, sq, sr] = [p, q, r].map((x) => store.batchStats(x));
    const m = OnlineKMeans.mergeStats;
    const left = m(m(sp!, sq!), sr!);
    const right = m(sp!, m(sq!, sr!));
    const swapped = m(sr!, m(sq!, sp!));
    const all = store.batchStats(b);
    for (const x of [right, swapped, all]) {
      expect(x.records).toBe(left.records);
      expect(Array.from(x.counts)).toEqual(Array.from(left.counts));
      x.sums.forEach((v, j) => expect(v).toBeCloseTo(left.sums[j]!, 9));
      expect(Array.from(x.farthestDistances)).toEqual(Array.from(left.farthestDistances));
      expect(x.farthestPoints).toEqual(left.farthestPoints);
      expect(Array.from(x.histogram)).toEqual(Array.from(left.histogram));
    }
  });
}
