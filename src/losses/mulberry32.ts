/**
 * mulberry32: a seeded uniform generator in [0, 1) with 32 bits of state (Tommy Ettinger, public
 * domain). The losses need reproducible randomness (triplet sampling, augmented views, balanced
 * sampling) without the centroid store's snapshot machinery, so they carry this small closure
 * instead of depending on `src/cluster/`.
 *
 * Example: mulberry32(42)() → 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform generator (Box–Muller; one value per call, simple). */
export function gaussian(random: () => number): number {
  // 1 − u lies in (0, 1], so the logarithm is finite.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
