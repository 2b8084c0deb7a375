/**
 * Points in one of the two shapes the metrics accept: an array of rows (any array-likes, e.g.
 * the Float32Array embeddings the pipeline produces), or one flat row-major typed array whose
 * row length is given separately as `dim`.
 */
export type Points = readonly ArrayLike<number>[] | Float32Array | Float64Array;

/** Row-major float64 copy of the points; float64 so sums match scikit-learn's precision. */
export interface PointMatrix {
  readonly data: Float64Array;
  readonly n: number;
  readonly dim: number;
}

export function toPointMatrix(points: Points, dim?: number): PointMatrix {
  if (Array.isArray(points)) return fromRows(points as readonly ArrayLike<number>[]);
  const flat = points as Float32Array | Float64Array;
  if (dim === undefined || !Number.isInteger(dim) || dim < 1) {
    throw new RangeError(
      `flat points need a positive integer dim (the row length); got ${String(dim)}`,
    );
  }
  if (flat.length % dim !== 0) {
    throw new RangeError(
      `flat points have ${flat.length} values, which is not a multiple of dim = ${dim}`,
    );
  }
  const data = Float64Array.from(flat);
  checkFinite(data, dim);
  return { data, n: flat.length / dim, dim };
}

function fromRows(rows: readonly ArrayLike<number>[]): PointMatrix {
  const n = rows.length;
  const dim = n === 0 ? 0 : (rows[0] as ArrayLike<number>).length;
  if (n > 0 && dim < 1) throw new RangeError('points must have at least one feature per row');
  const data = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as ArrayLike<number>;
    if (row.length !== dim) {
      throw new RangeError(`points[${i}] has ${row.length} values but points[0] has ${dim}`);
    }
    for (let d = 0; d < dim; d++) data[i * dim + d] = row[d] as number;
  }
  checkFinite(data, dim);
  return { data, n, dim };
}

function checkFinite(data: Float64Array, dim: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const row = Math.floor(i / dim);
      throw new RangeError(
        `point ${row}, feature ${i - row * dim} must be finite; got ${String(data[i])}`,
      );
    }
  }
}

/** Sum of each cluster's rows divided by its size: the cluster means, row-major k x dim. */
export function clusterMeans(
  matrix: PointMatrix,
  codes: Int32Array,
  counts: Int32Array,
): Float64Array {
  const { data, n, dim } = matrix;
  const means = new Float64Array(counts.length * dim);
  for (let i = 0; i < n; i++) {
    const base = codes[i]! * dim;
    for (let d = 0; d < dim; d++) means[base + d] = means[base + d]! + data[i * dim + d]!;
  }
  for (let k = 0; k < counts.length; k++) {
    const size = counts[k]!;
    for (let d = 0; d < dim; d++) means[k * dim + d] = means[k * dim + d]! / size;
  }
  return means;
}
