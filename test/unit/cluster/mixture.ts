import type { SeededRandom } from '../../../src/cluster/seeded-random.js';

/** Seeded Gaussian mixture batches for the store's tests: `means` is k × dim, row-major. */
export function mixtureBatch(
  rng: SeededRandom,
  means: number[][],
  n: number,
  spread: number,
  shares?: number[],
): Float32Array {
  const dim = means[0]!.length;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = pick(rng, means.length, shares);
    for (let t = 0; t < dim; t++) out[i * dim + t] = means[c]![t]! + spread * rng.gaussian();
  }
  return out;
}

function pick(rng: SeededRandom, k: number, shares?: number[]): number {
  if (shares === undefined) return rng.nextInt(k);
  let u = rng.next();
  for (let j = 0; j < k; j++) {
    u -= shares[j]!;
    if (u < 0) return j;
  }
  return k - 1;
}

export function randomMeans(rng: SeededRandom, k: number, dim: number, scale: number): number[][] {
  return Array.from({ length: k }, () => Array.from({ length: dim }, () => scale * rng.gaussian()));
}

export function normaliseRows(points: Float32Array, dim: number): Float32Array {
  const out = Float32Array.from(points);
  for (let i = 0; i < out.length / dim; i++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += out[i * dim + t]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let t = 0; t < dim; t++) out[i * dim + t]! *= inv;
  }
  return out;
}
