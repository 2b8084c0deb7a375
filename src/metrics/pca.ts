/**
 * The two leading principal components of a small set of row vectors, for the live view's
 * 2-D picture of centroids and embeddings. Covariance matrix (dim × dim) and power iteration
 * with deflation: embeddings have tens of dimensions, so this is cheap and needs no library.
 *
 * Differences from a textbook PCA: the sign of each component is fixed (its largest-magnitude
 * entry is positive) so that the picture does not flip between refreshes when the data barely
 * changed, and a degenerate direction (zero variance) comes back as a zero vector rather than
 * an arbitrary unit one.
 *
 * Example: rows (0,0), (2,0), (4,0) → mean (2,0), component 1 = (1,0) with variance 8/3,
 * component 2 = (0,0) with variance 0; projections x = -2, 0, 2 and y = 0, 0, 0.
 */
export interface Pca {
  mean: Float64Array;
  /** Unit vectors (or zero vectors for a degenerate direction), each of length dim. */
  components: [Float64Array, Float64Array];
  /** Variance (population) along each component. */
  variances: [number, number];
}

const ITERATIONS = 100;
const TOLERANCE = 1e-10;

/** PCA of `rows` (n × dim, row-major); n may be 0, which yields a zero mean and zero components. */
export function pca2(rows: Float32Array | Float64Array, dim: number): Pca {
  const n = dim === 0 ? 0 : Math.floor(rows.length / dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += rows[i * dim + j]! / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      const da = rows[i * dim + a]! - mean[a]!;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += (da * (rows[i * dim + b]! - mean[b]!)) / n;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]!;
  const first = leadingEigen(cov, dim);
  deflate(cov, dim, first.vector, first.value);
  const second = leadingEigen(cov, dim);
  return {
    mean,
    components: [first.vector, second.vector],
    variances: [first.value, second.value],
  };
}

/** Coordinates of each row on the two components: n × 2, row-major. */
export function project(rows: Float32Array | Float64Array, dim: number, model: Pca): Float64Array {
  const n = dim === 0 ? 0 : Math.floor(rows.length / dim);
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      const component = model.components[c]!;
      let sum = 0;
      for (let j = 0; j < dim; j++) sum += (rows[i * dim + j]! - model.mean[j]!) * component[j]!;
      out[i * 2 + c] = sum;
    }
  }
  return out;
}

function leadingEigen(matrix: Float64Array, dim: number): { vector: Float64Array; value: number } {
  // A fixed, non-axis-aligned start: deterministic, and not orthogonal to any axis eigenvector.
  let v: Float64Array = new Float64Array(dim).map((_, j) => 1 + j / (dim + 1));
  normalise(v);
  let value = 0;
  for (let iter = 0; iter < ITERATIONS; iter++) {
    const next = multiply(matrix, dim, v);
    const norm = normalise(next);
    if (norm < TOLERANCE) return { vector: new Float64Array(dim), value: 0 };
    const change = next.reduce((s, x, j) => s + Math.abs(x - v[j]!), 0);
    v = next;
    value = norm;
    if (change < TOLERANCE) break;
  }
  let largest = 0;
  for (let j = 1; j < dim; j++) if (Math.abs(v[j]!) > Math.abs(v[largest]!)) largest = j;
  if (v[largest]! < 0) v = v.map((x) => -x);
  return { vector: v, value };
}

function multiply(matrix: Float64Array, dim: number, v: Float64Array): Float64Array {
  const out = new Float64Array(dim);
  for (let a = 0; a < dim; a++) {
    let sum = 0;
    for (let b = 0; b < dim; b++) sum += matrix[a * dim + b]! * v[b]!;
    out[a] = sum;
  }
  return out;
}

function normalise(v: Float64Array): number {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  if (norm > 0) for (let j = 0; j < v.length; j++) v[j] = v[j]! / norm;
  return norm;
}

function deflate(matrix: Float64Array, dim: number, v: Float64Array, value: number): void {
  for (let a = 0; a < dim; a++)
    for (let b = 0; b < dim; b++) matrix[a * dim + b]! -= value * v[a]! * v[b]!;
}
