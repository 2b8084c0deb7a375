/**
 * Critical values of the two-sample tests the input-drift monitor runs, from their asymptotic
 * distributions (no tables, any α).
 *
 * - Kolmogorov–Smirnov, two samples of n and m: reject when D > c(α) √((n + m) / (n m)), with
 *   c(α) = √(−ln(α / 2) / 2) (the first term of Kolmogorov's series; conservative with ties).
 * - χ² with k degrees of freedom: the Wilson–Hilferty cube-root normal approximation,
 *   k (1 − 2/(9k) + z √(2/(9k)))³, with z the standard normal's upper α quantile.
 *
 * References: F. J. Massey, JASA 1951; E. B. Wilson, M. M. Hilferty, "The distribution of
 * chi-square", PNAS 1931; W. H. Press et al., Numerical Recipes (erfc, §6.2).
 */
export function ksCritical(n: number, m: number, alpha: number): number {
  return Math.sqrt(-Math.log(alpha / 2) / 2) * Math.sqrt((n + m) / (n * m));
}

export function chiSquareCritical(degreesOfFreedom: number, alpha: number): number {
  const k = degreesOfFreedom;
  const z = normalUpperQuantile(alpha);
  const c = 2 / (9 * k);
  return k * (1 - c + z * Math.sqrt(c)) ** 3;
}

/** z with P(Z > z) = p for a standard normal Z, 0 < p < 1 (bisection on erfc, to 1e-10). */
export function normalUpperQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalUpperQuantile: p must be in (0, 1), got ${p}`);
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-10; i++) {
    const mid = (lo + hi) / 2;
    if (erfc(mid / Math.SQRT2) / 2 > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The complementary error function, fractional error below 1.2e-7 everywhere. */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
