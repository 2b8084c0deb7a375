import { describe, expect, it } from 'vitest';
import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';
import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { mixtureBatch } from './mixture.js';

const means = [
  [0, 0, 0],
  [6, 0, 0],
  [0, 6, 0],
];

function trained(seed: number, batches: number, init = Float64Array.from(means.flat())) {
  const rng = new SeededRandom(seed);
  const store = new OnlineKMeans({ k: 3, dim: 3, initialCentroids: init, decay: { unit: 'none' } });
  for (let b = 0; b < batches; b++) store.update(mixtureBatch(rng, means, 100, 1));
  return store;
}

describe('OnlineKMeans readiness and versions', () => {
  it('assigns nothing before warm-up, then starts at version 1 and counts updates', () => {
    const store = new OnlineKMeans({ k: 3, dim: 3, seed: 1, warmupSize: 250 });
    const rng = new SeededRandom(2);
    expect(() => store.assign(new Float32Array(3))).toThrow(
      'OnlineKMeans.assign() called before the store is ready: warm-up has seen 0 of 250 records',
    );
    expect(store.observe(mixtureBatch(rng, means, 200, 1))).toBe(false);
    expect(store.warmupProgress()).toEqual({ seen: 200, needed: 250 });
    expect(store.version).toBe(0);
    expect(store.observe(mixtureBatch(rng, means, 200, 1))).toBe(true);
    expect(store.warmupProgress()).toEqual({ seen: 250, needed: 250 });
    expect(store.version).toBe(1);
    // One seed per true component: every mean is within 1.5 of some centroid.
    const c = store.centroids().data;
    for (const m of means) {
      const best = Math.min(
        ...[0, 1, 2].map((j) => Math.hypot(...m.map((v, t) => v - c[j * 3 + t]!))),
      );
      expect(best).toBeLessThan(1.5);
    }
    store.update(mixtureBatch(rng, means, 10, 1));
    store.update(mixtureBatch(rng, means, 10, 1));
    expect(store.version).toBe(3);
    store.update(new Float32Array(0));
    expect(store.version).toBe(3);
  });

  it('rejects malformed batches with messages that say what is wrong', () => {
    const store = trained(1, 1);
    expect(() => store.assign(new Float32Array(4))).toThrow(
      'points has 4 values, not a multiple of dim = 3',
    );
    expect(() => store.update(new Float32Array([0, Number.NaN, 0]))).toThrow(
      'point 0 of the batch has a non-finite coordinate',
    );
    expect(() => store.update(new Float32Array(6), { weights: new Float32Array(1) })).toThrow(
      'weights has 1 values for 2 points',
    );
    expect(() => store.update(new Float32Array(3), { weights: new Float32Array([-1]) })).toThrow(
      'weight 0 is -1',
    );
    const stale = store.batchStats(new Float32Array(3));
    store.update(new Float32Array(3));
    expect(() => store.applyStats(stale)).toThrow(
      /computed against store version 2, the store is at version 3/,
    );
    expect(() => new OnlineKMeans({ k: 10, dim: 2, warmupSize: 5 })).toThrow(
      /cluster.warmupSize \(5\) must be at least cluster.k \(10\)/,
    );
  });
});

describe('OnlineKMeans snapshot', () => {
  it('refuses a snapshot that was edited, of another version, or of another format', () => {
    const snap = trained(4, 3).snapshot();
    const edited = JSON.parse(JSON.stringify(snap));
    edited.state.version += 1;
    expect(() => OnlineKMeans.restore(edited)).toThrow(/checksum mismatch/);
    expect(() => OnlineKMeans.restore({ ...snap, formatVersion: 99 })).toThrow(
      /snapshot format version 99 is not supported \(this build reads version 1\)/,
    );
    expect(() => OnlineKMeans.restore({ ...snap, format: 'something-else' })).toThrow(
      /not an OnlineKMeans snapshot/,
    );
    // Key order does not matter: the checksum is over canonical JSON.
    const reordered = Object.fromEntries(
      Object.entries(JSON.parse(JSON.stringify(snap))).reverse(),
    );
    expect(OnlineKMeans.restore(reordered as unknown as typeof snap).centroids()).toEqual(
      trained(4, 3).centroids(),
    );
  });

  it('restores a store that is still warming up and finishes its warm-up identically', () => {
    const rng = new SeededRandom(6);
    const batches = [0, 1, 2].map(() => mixtureBatch(rng, means, 120, 1));
    const a = new OnlineKMeans({ k: 3, dim: 3, seed: 3, warmupSize: 300, reservoirSize: 100 });
    a.observe(batches[0]!);
    const b = OnlineKMeans.restore(JSON.parse(JSON.stringify(a.snapshot())));
    for (const x of batches.slice(1)) expect(b.observe(x)).toBe(a.observe(x));
    expect(b.centroids64()).toEqual(a.centroids64());
  });
});

describe('OnlineKMeans.merge of stores', () => {
  it('is the weighted mean per id, commutative and associative', () => {
    const [a, b, c] = [trained(1, 2), trained(2, 3), trained(3, 1)];
    // restore() copies, so every order starts from the same untouched stores.
    const copy = (s: OnlineKMeans) => OnlineKMeans.restore(s.snapshot());
    const l = copy(a);
    l.merge(copy(b));
    l.merge(copy(c));
    const bc = copy(b);
    bc.merge(copy(c));
    const r = copy(a);
    r.merge(bc);
    const sw = copy(c);
    sw.merge(copy(a));
    sw.merge(copy(b));
    const [left, right, swapped] = [l, r, sw].map((s) => s.centroids64()) as [
      ReturnType<OnlineKMeans['centroids64']>,
      ReturnType<OnlineKMeans['centroids64']>,
      ReturnType<OnlineKMeans['centroids64']>,
    ];
    for (const x of [right, swapped]) {
      x.data.forEach((v, i) => expect(v).toBeCloseTo(left.data[i]!, 10));
      x.weights.forEach((v, i) => expect(v).toBeCloseTo(left.weights[i]!, 9));
    }
    // Closed form for id 0: Σ w·c / Σ w over the three stores.
    const parts = [a, b, c].map((s) => s.centroids64());
    const w = parts.reduce((s, p) => s + p.weights[0]!, 0);
    const x0 = parts.reduce((s, p) => s + p.weights[0]! * p.data[0]!, 0) / w;
    expect(left.data[0]).toBeCloseTo(x0, 10);
    expect(left.weights[0]).toBeCloseTo(w, 9);
  });

  it('adopts cluster ids it does not know', () => {
    const a = trained(1, 1);
    const b = new OnlineKMeans({
      k: 4,
      dim: 3,
      initialCentroids: new Float64Array([0, 0, 0, 1, 1, 1, 2, 2, 2, 7, 8, 9]),
      initialWeights: new Float64Array([0, 0, 0, 5]),
    });
    const before = a.centroids64();
    a.merge(b);
    const after = a.centroids64();
    expect(Array.from(after.ids)).toEqual([0, 1, 2, 3]);
    expect(Array.from(after.data.subarray(9))).toEqual([7, 8, 9]);
    expect(after.weights[3]).toBe(5);
    // b's other weights are 0, so a's own centroids are unchanged.
    expect(after.data.subarray(0, 9)).toEqual(before.data);
  });
});

describe('OnlineKMeans.realign', () => {
  it('moves each centroid to the mean of its members, keeping ids and weights', () => {
    const store = new OnlineKMeans({
      k: 2,
      dim: 2,
      initialCentroids: Float32Array.from([0, 0, 10, 10]),
      initialWeights: Float64Array.from([5, 7]),
      decay: { unit: 'none' },
    });
    const before = store.centroids();
    const version = store.version;
    // The network moved: the same two groups now sit around (1, 1) and (9, 12).
    const moved = store.realign(Float32Array.from([1, 0, 1, 2, 9, 11, 9, 13]));
    const after = store.centroids();
    expect([...after.ids]).toEqual([...before.ids]);
    expect([...after.weights]).toEqual([5, 7]);
    expect([...after.data]).toEqual([1, 1, 9, 12]);
    expect(moved.moved).toBe(2);
    expect(moved.meanShift).toBeCloseTo((Math.SQRT2 + Math.hypot(1, 2)) / 2, 6);
    expect(store.version).toBe(version + 1);
  });

  it('leaves a centroid without members where it is', () => {
    const store = new OnlineKMeans({
      k: 2,
      dim: 1,
      initialCentroids: Float32Array.from([0, 100]),
      decay: { unit: 'none' },
    });
    store.realign(Float32Array.from([1, 3]));
    expect([...store.centroids().data]).toEqual([2, 100]);
  });
});
