/**
 * Jensen–Shannon divergence between two distributions over the same categories, in bits:
 *
 *     JS(P ‖ Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M),   M = ½ (P + Q)
 *
 * Bounded in [0, 1] (base 2), symmetric, finite even when a category is empty on one side
 * (0 · log 0 = 0), which is why it complements PSI for cluster-assignment distributions where
 * clusters are born and die. Its square root is a metric.
 *
 * Inputs are counts aligned by index (normalised here). Two empty distributions give 0.
 *
 * Example: jsDivergence([1, 0], [0, 1]) = 1; jsDivergence([1, 1], [1, 1]) = 0.
 *
 * Reference: J. Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf.
 * Theory 37(1), 1991.
 */
export function jsDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) {
    throw new RangeError(`jsDivergence: p has ${p.length} categories, q ${q.length}`);
  }
  const tp = sum(p);
  const tq = sum(q);
  if (!(tp > 0) || !(tq > 0)) return 0;
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]! / tp;
    const b = q[i]! / tq;
    const m = (a + b) / 2;
    if (a > 0) s += 0.5 * a * Math.log2(a / m);
    if (b > 0) s += 0.5 * b * Math.log2(b / m);
  }
  // Rounding can leave a hair outside [0, 1].
  return Math.min(1, Math.max(0, s));
}

function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}
