/**
 * Population Stability Index between a reference and a current distribution over the same
 * categories (cluster ids, or the bins of one feature):
 *
 *     PSI = Σ_i (a_i − e_i) · ln(a_i / e_i)
 *
 * with e and a the reference and current proportions. A category empty on one side would make
 * the sum infinite, so every proportion is floored at `epsilon` (the usual fix; 1e-4 is
 * common) and the proportions renormalised. Rules of thumb: < 0.1 stable, 0.1–0.25 moderate
 * shift, > 0.25 major shift. Symmetric in its arguments; 0 only for equal distributions.
 *
 * Inputs are counts (any non-negative numbers), aligned by index; both must have the same
 * length. Two empty distributions give 0.
 *
 * Example: psi([50, 50], [90, 10]) = 0.4·ln(0.9/0.5) + (−0.4)·ln(0.1/0.5) ≈ 0.8789.
 *
 * Reference: B. Yurdakul, "Statistical properties of population stability index", PhD thesis,
 * Western Michigan University, 2018.
 */
export function psi(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  epsilon = 1e-4,
): number {
  if (expected.length !== actual.length) {
    throw new RangeError(
      `psi: expected has ${expected.length} categories, actual ${actual.length}`,
    );
  }
  const e = smoothedProportions(expected, epsilon);
  const a = smoothedProportions(actual, epsilon);
  if (e === null || a === null) return 0;
  let s = 0;
  for (let i = 0; i < e.length; i++) s += (a[i]! - e[i]!) * Math.log(a[i]! / e[i]!);
  return s;
}

/** Proportions with every entry floored at epsilon and renormalised; null for an all-zero input. */
export function smoothedProportions(
  counts: ArrayLike<number>,
  epsilon: number,
): Float64Array | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (!(total > 0)) return null;
  const p = new Float64Array(counts.length);
  let z = 0;
  for (let i = 0; i < counts.length; i++) {
    p[i] = Math.max(counts[i]! / total, epsilon);
    z += p[i]!;
  }
  for (let i = 0; i < p.length; i++) p[i]! /= z;
  return p;
}
