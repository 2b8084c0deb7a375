import { describe, expect, it } from 'vitest';

import { ReplayMemory } from '../../../src/model/replay-memory.js';

/** rows × 2 features: row i is [i, −i]. */
const rows = (from: number, count: number): Float32Array =>
  Float32Array.from({ length: count * 2 }, (_, j) => (j % 2 === 0 ? 1 : -1) * (from + (j >> 1)));

describe('ReplayMemory', () => {
  it('keeps a uniform sample of everything offered (reservoir)', () => {
    // Offer 0..9,999 in batches; count how many of the 1,000 kept rows are from each tenth.
    const tenths = new Array<number>(10).fill(0);
    for (let run = 0; run < 5; run++) {
      const memory = new ReplayMemory(2, 1000, 'reservoir', run);
      for (let b = 0; b < 40; b++) memory.add(rows(b * 250, 250));
      expect(memory.size).toBe(1000);
      expect(memory.offered).toBe(10_000);
      const kept = memory.sample(1000);
      for (let i = 0; i < 1000; i++) tenths[Math.floor((kept[2 * i] as number) / 1000)]! += 1;
    }
    // 500 expected per tenth; binomial sd ≈ 21, so 400..600 fails only on a real bias.
    for (const count of tenths) {
      expect(count).toBeGreaterThan(400);
      expect(count).toBeLessThan(600);
    }
  });

  it('keeps the last rows with the recent policy', () => {
    const memory = new ReplayMemory(2, 100, 'recent', 1);
    memory.add(rows(0, 250));
    const kept = [...memory.sample(100)].filter((_, j) => j % 2 === 0).sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i));
  });

  it('samples whole rows without replacement, all of them when asked for more', () => {
    const memory = new ReplayMemory(2, 50, 'reservoir', 2);
    memory.add(rows(0, 30));
    const all = memory.sample(100);
    expect(all.length).toBe(60);
    const firsts = [...all].filter((_, j) => j % 2 === 0);
    expect(new Set(firsts).size).toBe(30);
    for (let i = 0; i < 30; i++)
      expect((all[2 * i + 1] as number) + (all[2 * i] as number)).toBe(0);
  });

  it('restores from a snapshot to the same rows and the same future draws', () => {
    const memory = new ReplayMemory(2, 64, 'reservoir', 3);
    memory.add(rows(0, 200));
    const restored = ReplayMemory.restore(JSON.parse(JSON.stringify(memory.snapshot())));
    expect(restored.size).toBe(64);
    expect(restored.offered).toBe(200);
    memory.add(rows(200, 50));
    restored.add(rows(200, 50));
    expect([...restored.sample(64)]).toEqual([...memory.sample(64)]);
  });

  it('rejects a row length that does not match its dimension', () => {
    expect(() => new ReplayMemory(2, 10, 'reservoir', 0).add(new Float32Array(3))).toThrow(
      'ReplayMemory.add: 3 values is not a multiple of dim = 2',
    );
    expect(() => new ReplayMemory(0, 10, 'reservoir', 0)).toThrow(/dim must be a positive integer/);
  });
});
