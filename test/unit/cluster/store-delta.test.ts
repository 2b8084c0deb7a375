import { describe, expect, it } from 'vitest';

import { mergeStats } from '../../../src/cluster/batch-stats.js';
import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';
import {
  addStats,
  deltaFromJson,
  deltaToJson,
  emptyDelta,
  mergeDeltas,
  statsFor,
} from '../../../src/cluster/store-delta.js';
import { SeededRandom } from '../../../src/cluster/seeded-random.js';

const DIM = 3;

function points(n: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const centre = (i % 3) * 5;
    for (let d = 0; d < DIM; d++) out[i * DIM + d] = centre + rng.gaussian();
  }
  return out;
}

function store(decay: 'none' | 'batches' = 'none'): OnlineKMeans {
  return new OnlineKMeans({
    k: 3,
    dim: DIM,
    initialCentroids: new Float64Array([0, 0, 0, 5, 5, 5, 10, 10, 10]),
    initialWeights: new Float64Array([10, 10, 10]),
    decay: decay === 'none' ? { unit: 'none' } : { unit: 'batches', halfLife: 4 },
    recovery: { enabled: false },
  });
}

function deltaOf(target: OnlineKMeans, batch: Float32Array) {
  const delta = emptyDelta(DIM);
  addStats(delta, target.batchStats(batch));
  return delta;
}

describe("StoreDelta: one instance's contribution to a shared store, keyed by cluster id", () => {
  it("two shards' deltas, summed and folded, give the unsharded update", () => {
    const a = points(300, 1);
    const b = points(200, 2);
    const sharded = store();
    const merged = mergeDeltas(deltaOf(sharded, a), deltaOf(sharded, b));
    const fromDeltas = statsFor(merged, sharded.statsBase()).stats;
    sharded.applyStats(fromDeltas);

    const whole = store();
    const unsharded = mergeStats(whole.batchStats(a), whole.batchStats(b));
    whole.applyStats(unsharded);
    // The farthest points (re-seeding, births) are the same ones, in the same order.
    expect(Array.from(fromDeltas.farthestDistances)).toEqual(
      Array.from(unsharded.farthestDistances),
    );
    expect(Array.from(fromDeltas.farthestPoints)).toEqual(Array.from(unsharded.farthestPoints));

    const x = sharded.centroids64();
    const y = whole.centroids64();
    expect(Array.from(x.weights)).toEqual(Array.from(y.weights));
    x.data.forEach((v, i) => expect(v).toBeCloseTo(y.data[i]!, 10));
  });

  it('survives its JSON form exactly', () => {
    const target = store();
    const delta = deltaOf(target, points(100, 3));
    const back = deltaFromJson(JSON.parse(JSON.stringify(deltaToJson(delta))));
    expect(deltaToJson(back)).toEqual(deltaToJson(delta));
    expect(back.records).toBe(100);
    expect([...back.perId.keys()].sort()).toEqual([0, 1, 2]);
  });

  it('drops the weight of clusters the receiving store no longer holds, and says how much', () => {
    const sender = store();
    const delta = deltaOf(sender, points(90, 4));
    const onlyTwo = new OnlineKMeans({
      k: 2,
      dim: DIM,
      initialCentroids: new Float64Array([0, 0, 0, 5, 5, 5]),
      initialWeights: new Float64Array([1, 1]),
      decay: { unit: 'none' },
      recovery: { enabled: false },
    });
    const { stats, droppedWeight } = statsFor(delta, onlyTwo.statsBase());
    expect(droppedWeight).toBe(delta.perId.get(2)!.weight);
    expect(Array.from(stats.counts)).toEqual([
      delta.perId.get(0)!.weight,
      delta.perId.get(1)!.weight,
    ]);
  });

  it('a delta standing for three batches decays the store as three batches do', () => {
    const batches = [points(30, 5), points(30, 6), points(30, 7)];
    const folded = store('batches');
    const delta = emptyDelta(DIM);
    for (const b of batches) addStats(delta, folded.batchStats(b));
    folded.applyStats(statsFor(delta, folded.statsBase()).stats);
    // Weights only: each batch's decay applies before the batch is added, so the three-batch
    // delta decays the old weight by a³ and adds the new weight undecayed, as the store's
    // weight after three batches would be had each batch arrived at the same moment.
    const a = 0.5 ** (1 / 4);
    const expected = [10, 10, 10].map((w, j) => a ** 3 * w + (delta.perId.get(j)?.weight ?? 0));
    Array.from(folded.centroids64().weights).forEach((w, j) =>
      expect(w).toBeCloseTo(expected[j]!, 10),
    );
  });
});

describe('OnlineKMeans.followsLeader', () => {
  const nearDuplicates = () =>
    new OnlineKMeans({
      k: 3,
      dim: 2,
      initialCentroids: new Float64Array([0, 0, 0.01, 0, 5, 5]),
      initialWeights: new Float64Array([3, 1, 4]),
      decay: { unit: 'none' },
      merge: { enabled: true, threshold: 0.1 },
      recovery: { enabled: false },
    });

  it('takes no lifecycle decision: a follower folds, only the leader merges', () => {
    const leader = nearDuplicates();
    expect(leader.update(new Float32Array([5, 5])).events.map((e) => e.kind)).toContain('merged');
    const follower = nearDuplicates();
    follower.followsLeader = true;
    const kinds = follower.update(new Float32Array([5, 5])).events.map((e) => e.kind);
    // Only the initial births are reported (the centroids given at construction).
    expect(kinds.every((k) => k === 'born')).toBe(true);
    expect(Array.from(follower.centroids().ids)).toEqual([0, 1, 2]);
  });

  it('tells its stats listener every batch it folds, before folding it', () => {
    const s = store();
    const seen: number[] = [];
    s.statsListener = (stats) => seen.push(stats.records, s.version);
    s.update(points(12, 8));
    expect(seen).toEqual([12, 1]);
  });
});
