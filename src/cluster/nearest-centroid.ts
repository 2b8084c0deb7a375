/**
 * Nearest-centroid assignment kernel, shared by the store's assign and update paths.
 *
 * Euclidean: ranks centroids by ||c||² − 2·x·c (the ||x||² term is the same for every centroid
 * of a point, so it is dropped), which costs one dot product per pair instead of a difference
 * and a square. That expansion loses precision when x is close to c (catastrophic cancellation),
 * so the reported distance is recomputed directly as ||x − c|| for the winning centroid only:
 * one extra pass over dim per point, and exact distances for free.
 *
 * Cosine: ranks by x·c / ||c|| (dividing by ||x|| would not change the order) and reports
 * 1 − cos(x, c), clamped to [0, 2]; a zero vector (point or centroid) has distance 1 to
 * everything, the value cos = 0 gives.
 *
 * Ties go to the lowest row, so the result never depends on floating-point noise in the order
 * of evaluation. Nothing is allocated per point.
 */
export type DistanceKind = 'euclidean' | 'cosine';

/** Squared norms of the first `count` rows of `centroids` into `out`. */
export function rowSquaredNorms(
  centroids: Float64Array,
  count: number,
  dim: number,
  out: Float64Array,
): void {
  for (let j = 0; j < count; j++) {
    let s = 0;
    const o = j * dim;
    for (let t = 0; t < dim; t++) {
      const v = centroids[o + t]!;
      s += v * v;
    }
    out[j] = s;
  }
}

/**
 * Writes, for each of the n points, the row of its nearest centroid into `rows` and the
 * distance into `distances`. Throws a RangeError naming the record if a point is not finite,
 * because one NaN folded into a centroid would poison it for good.
 */
export function assignNearest(
  points: Float32Array,
  dim: number,
  centroids: Float64Array,
  norms2: Float64Array,
  count: number,
  kind: DistanceKind,
  rows: Int32Array,
  distances: Float32Array,
): void {
  const n = (points.length / dim) | 0;
  for (let i = 0; i < n; i++) {
    const po = i * dim;
    let xn = 0;
    for (let t = 0; t < dim; t++) {
      const v = points[po + t]!;
      xn += v * v;
    }
    if (!Number.isFinite(xn)) {
      throw new RangeError(
        `point ${i} of the batch has a non-finite coordinate (NaN or ±Infinity)`,
      );
    }
    if (kind === 'euclidean') {
      const best = nearestEuclidean(points, po, dim, centroids, norms2, count);
      rows[i] = best;
      distances[i] = Math.sqrt(squaredDistance(points, po, centroids, best * dim, dim));
    } else {
      const best = nearestCosine(points, po, dim, centroids, norms2, count);
      rows[i] = best;
      distances[i] = cosineDistanceFromDot(
        dot(points, po, centroids, best * dim, dim),
        xn,
        norms2[best]!,
      );
    }
  }
}

function nearestEuclidean(
  points: Float32Array,
  po: number,
  dim: number,
  centroids: Float64Array,
  norms2: Float64Array,
  count: number,
): number {
  let best = 0;
  let bestScore = Infinity;
  let j = 0;
  // Four centroids per pass over the point: each x[t] is loaded once for four products, and
  // the four rows stream through the cache side by side.
  for (; j + 3 < count; j += 4) {
    const o0 = j * dim;
    const o1 = o0 + dim;
    const o2 = o1 + dim;
    const o3 = o2 + dim;
    let d0 = 0;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    for (let t = 0; t < dim; t++) {
      const x = points[po + t]!;
      d0 += x * centroids[o0 + t]!;
      d1 += x * centroids[o1 + t]!;
      d2 += x * centroids[o2 + t]!;
      d3 += x * centroids[o3 + t]!;
    }
    const s0 = norms2[j]! - 2 * d0;
    const s1 = norms2[j + 1]! - 2 * d1;
    const s2 = norms2[j + 2]! - 2 * d2;
    const s3 = norms2[j + 3]! - 2 * d3;
    // Strict comparisons in row order keep the lowest row on ties, as the scalar loop does.
    if (s0 < bestScore) [bestScore, best] = [s0, j];
    if (s1 < bestScore) [bestScore, best] = [s1, j + 1];
    if (s2 < bestScore) [bestScore, best] = [s2, j + 2];
    if (s3 < bestScore) [bestScore, best] = [s3, j + 3];
  }
  for (; j < count; j++) {
    const score = norms2[j]! - 2 * dot(points, po, centroids, j * dim, dim);
    if (score < bestScore) {
      bestScore = score;
      best = j;
    }
  }
  return best;
}

function nearestCosine(
  points: Float32Array,
  po: number,
  dim: number,
  centroids: Float64Array,
  norms2: Float64Array,
  count: number,
): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let j = 0; j < count; j++) {
    const cn = norms2[j]!;
    const score = cn > 0 ? dot(points, po, centroids, j * dim, dim) / Math.sqrt(cn) : 0;
    if (score > bestScore) {
      bestScore = score;
      best = j;
    }
  }
  return best;
}

/** x·c, unrolled by four: the JIT keeps four independent accumulators in registers. */
export function dot(
  x: Float32Array | Float64Array,
  xo: number,
  c: Float64Array,
  co: number,
  dim: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < dim; t += 4) {
    s0 += x[xo + t]! * c[co + t]!;
    s1 += x[xo + t + 1]! * c[co + t + 1]!;
    s2 += x[xo + t + 2]! * c[co + t + 2]!;
    s3 += x[xo + t + 3]! * c[co + t + 3]!;
  }
  for (; t < dim; t++) s0 += x[xo + t]! * c[co + t]!;
  return s0 + s1 + (s2 + s3);
}

export function squaredDistance(
  x: Float32Array | Float64Array,
  xo: number,
  c: Float64Array,
  co: number,
  dim: number,
): number {
  let s = 0;
  for (let t = 0; t < dim; t++) {
    const d = x[xo + t]! - c[co + t]!;
    s += d * d;
  }
  return s;
}

export function cosineDistanceFromDot(xc: number, xn2: number, cn2: number): number {
  if (xn2 <= 0 || cn2 <= 0) return 1;
  const d = 1 - xc / Math.sqrt(xn2 * cn2);
  return d < 0 ? 0 : d > 2 ? 2 : d;
}

/** The store's distance between two vectors (rows of Float64Arrays), used for centroid pairs. */
export function vectorDistance(
  kind: DistanceKind,
  a: Float64Array | Float32Array,
  ao: number,
  b: Float64Array,
  bo: number,
  dim: number,
): number {
  if (kind === 'euclidean') return Math.sqrt(squaredDistance(a, ao, b, bo, dim));
  let an = 0;
  let bn = 0;
  for (let t = 0; t < dim; t++) {
    an += a[ao + t]! * a[ao + t]!;
    bn += b[bo + t]! * b[bo + t]!;
  }
  return cosineDistanceFromDot(dot(a, ao, b, bo, dim), an, bn);
}
