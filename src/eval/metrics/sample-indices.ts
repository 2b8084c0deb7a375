/**
 * `size` distinct indices from 0..n-1, drawn without replacement by a partial Fisher-Yates
 * shuffle driven by a seeded mulberry32 generator: the same (n, size, seed) always gives the same
 * indices, on every platform. Sorted ascending, so callers read the points in memory order.
 * A size of n or more returns every index, as scikit-learn's `permutation(n)[:size]` does.
 */
export function sampleIndices(n: number, size: number, seed: number): Int32Array {
  const take = Math.min(n, size);
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  const next = mulberry32(seed);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(next() * (n - i));
    const chosen = pool[j]!;
    pool[j] = pool[i]!;
    pool[i] = chosen;
  }
  return pool.subarray(0, take).sort();
}

// mulberry32 (Tommy Ettinger): 32 bits of state, passes gjrand/PractRand at the sizes sampling
// needs, and is a few lines of exact 32-bit integer arithmetic, so it is reproducible everywhere.
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
