import { psi } from './psi.js';

/**
 * FeaturePsi: per-feature PSI of decoded inputs against a reference sample, for input-space
 * drift (the data moving) reported apart from embedding-space drift (the model moving).
 *
 * Each feature is cut into `bins` bins at the reference sample's quantiles, so every bin holds
 * about the same share of the reference and PSI weighs all of the range alike. A value goes in
 * the first bin whose upper edge exceeds it (the last bin is open-ended); repeated edges (a
 * discrete or constant feature) simply leave bins empty on both sides, which PSI's smoothing
 * treats as equal.
 *
 * Parameters: inputDim (features per record), bins (5–20), epsilon (PSI smoothing, 1e-4).
 * State: the inner bin edges (inputDim × (bins − 1)) and the reference counts per bin.
 */
export class FeaturePsi {
  private readonly edges: Float64Array;
  private readonly reference: Float64Array;

  constructor(
    readonly inputDim: number,
    readonly bins: number,
    readonly epsilon: number,
    referenceInputs: Float32Array,
  ) {
    const n = referenceInputs.length / inputDim;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `FeaturePsi: reference has ${referenceInputs.length} values, not a positive multiple of inputDim = ${inputDim}`,
      );
    }
    this.edges = new Float64Array(inputDim * (bins - 1));
    const column = new Float64Array(n);
    for (let f = 0; f < inputDim; f++) {
      for (let i = 0; i < n; i++) column[i] = referenceInputs[i * inputDim + f]!;
      column.sort();
      for (let b = 1; b < bins; b++) {
        this.edges[f * (bins - 1) + b - 1] = column[Math.min(n - 1, Math.floor((b * n) / bins))]!;
      }
    }
    this.reference = new Float64Array(inputDim * bins);
    this.accumulate(referenceInputs, this.reference);
  }

  /** Adds the batch's per-feature bin counts into `out` (inputDim × bins). */
  accumulate(inputs: Float32Array, out: Float64Array): void {
    const d = this.inputDim;
    const nb = this.bins;
    const n = (inputs.length / d) | 0;
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < d; f++) out[f * nb + this.binOf(f, inputs[i * d + f]!)]! += 1;
    }
  }

  /** PSI per feature of the given counts (inputDim × bins) against the reference. */
  psiPerFeature(current: Float64Array): Float64Array {
    const nb = this.bins;
    const out = new Float64Array(this.inputDim);
    for (let f = 0; f < this.inputDim; f++) {
      out[f] = psi(
        this.reference.subarray(f * nb, (f + 1) * nb),
        current.subarray(f * nb, (f + 1) * nb),
        this.epsilon,
      );
    }
    return out;
  }

  private binOf(f: number, v: number): number {
    const e = this.edges;
    const base = f * (this.bins - 1);
    let lo = 0;
    let hi = this.bins - 1;
    // First bin whose upper edge is > v (binary search over the bins − 1 inner edges).
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[base + mid]! > v) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
