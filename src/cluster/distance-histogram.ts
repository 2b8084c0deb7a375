/**
 * A fixed, log-spaced histogram of distances, used by adaptive k to know what a "high quantile
 * of recent distances" is. A histogram rather than a ring buffer of recent values because its
 * counts add up: two shards' histograms sum to the histogram of the union, which keeps the
 * store's sufficient statistics exactly mergeable (a ring buffer depends on arrival order).
 *
 * Bin 0 holds d < 1e-4; bin b in 1..BINS−2 holds 1e-4·2^((b−1)/4) ≤ d < 1e-4·2^(b/4); the last
 * bin holds everything larger (above about 2,900). Four bins per octave bound the relative
 * error of a quantile at 19 %, which is enough to tell an outlier from a typical distance.
 */
export const HISTOGRAM_BINS = 100;
const LOW = 1e-4;
const PER_OCTAVE = 4;

export function histogramBin(d: number): number {
  if (!(d >= LOW)) return 0;
  const b = 1 + Math.floor(Math.log2(d / LOW) * PER_OCTAVE);
  return b >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : b;
}

/** Upper edge of bin b (the conservative answer for a quantile falling inside it). */
export function histogramUpperEdge(b: number): number {
  return b >= HISTOGRAM_BINS - 1 ? Infinity : LOW * Math.pow(2, b / PER_OCTAVE);
}

/**
 * The q-quantile's bin upper edge, or Infinity when the histogram holds fewer than
 * `minCount` (too few to say what is unusual).
 */
export function histogramQuantile(hist: Float64Array, q: number, minCount: number): number {
  let total = 0;
  for (let b = 0; b < hist.length; b++) total += hist[b]!;
  if (total < minCount || total <= 0) return Infinity;
  const target = q * total;
  let acc = 0;
  for (let b = 0; b < hist.length; b++) {
    acc += hist[b]!;
    if (acc >= target) return histogramUpperEdge(b);
  }
  return Infinity;
}
