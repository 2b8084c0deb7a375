/**
 * Sinkhorn-Knopp balanced assignments (SwAV's equipartition), the guard against the collapse
 * of soft clustering onto a few clusters.
 *
 * Given scores s_ij (sample i, cluster j), it finds the matrix P closest to softmax(s/ε) whose
 * rows each sum to 1 and whose columns each sum to n/k: every cluster receives the same total
 * mass in the batch. Each iteration scales the columns to 1/k and then the rows to 1/n (SwAV's
 * order, so the rows are exact after the last step); the result is multiplied by n.
 *
 * How it differs from SwAV's code: it runs in the log domain (log-sum-exp normalisation) in
 * float64, so a small ε, which makes exp(s/ε) overflow or underflow in float32, stays exact.
 * It runs on plain arrays because P is a constant target (no gradient flows through it).
 *
 * Parameters: `epsilon` (> 0, default 0.05 for cosine-like scores; smaller = sharper);
 * `iterations` (≥ 1, default 3 as in SwAV; more gets closer to exact column balance).
 *
 * Example: scores [[0, 0], [0, 0]], any ε → [[0.5, 0.5], [0.5, 0.5]].
 *
 * Reference: M. Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
 * Assignments" (SwAV), NeurIPS 2020; M. Cuturi, "Sinkhorn Distances", NeurIPS 2013.
 */

export interface SinkhornOptions {
  epsilon?: number;
  iterations?: number;
}

/** Row-major [n, k] scores in, row-major [n, k] balanced assignments out (rows sum to 1). */
export function sinkhorn(
  scores: ArrayLike<number>,
  n: number,
  k: number,
  options: SinkhornOptions = {},
): Float32Array {
  const epsilon = options.epsilon ?? 0.05;
  const iterations = options.iterations ?? 3;
  if (scores.length !== n * k) {
    throw new Error(`sinkhorn: scores has ${scores.length} values, [${n}, ${k}] needs ${n * k}`);
  }
  if (!(epsilon > 0)) throw new Error(`sinkhorn: epsilon must be > 0, got ${epsilon}`);
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`sinkhorn: iterations must be an integer ≥ 1, got ${iterations}`);
  }
  const logP = new Float64Array(n * k);
  for (let i = 0; i < n * k; i++) logP[i] = (scores[i] as number) / epsilon;
  const logK = Math.log(k);
  const logN = Math.log(n);
  for (let it = 0; it < iterations; it++) {
    for (let j = 0; j < k; j++) {
      const shift = -logK - logSumExp(logP, j, k, n);
      for (let i = 0; i < n; i++) logP[i * k + j] = (logP[i * k + j] as number) + shift;
    }
    for (let i = 0; i < n; i++) {
      const shift = -logN - logSumExp(logP, i * k, 1, k);
      for (let j = 0; j < k; j++) logP[i * k + j] = (logP[i * k + j] as number) + shift;
    }
  }
  const out = new Float32Array(n * k);
  for (let i = 0; i < n * k; i++) out[i] = Math.exp((logP[i] as number) + logN);
  return out;
}

/** log Σ exp over `count` entries of `x` starting at `start` with stride `stride`. */
function logSumExp(x: Float64Array, start: number, stride: number, count: number): number {
  let max = -Infinity;
  for (let c = 0; c < count; c++) max = Math.max(max, x[start + c * stride] as number);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let c = 0; c < count; c++) sum += Math.exp((x[start + c * stride] as number) - max);
  return max + Math.log(sum);
}
