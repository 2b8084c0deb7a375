/**
 * SeededRandom: a small, fast, seedable pseudo-random generator (mulberry32).
 *
 * The centroid store must be reproducible (same seed → same centroids) and its
 * snapshot must carry the generator's position, so a restored store draws the
 * same numbers the original would have. Math.random offers neither. mulberry32
 * keeps a single 32-bit word of state, which makes the snapshot trivial; its
 * period (2^32) is plenty for initialisation and recovery draws, which are rare.
 *
 * Not for cryptography.
 *
 * Example: `new SeededRandom(42).next()` → 0.6011037519201636
 *
 * Reference: Tommy Ettinger, "mulberry32" (public domain), 2017.
 */
export class SeededRandom {
  private s: number;
  private spareGaussian: number | undefined;

  constructor(seed: number) {
    this.s = seed >>> 0;
    this.spareGaussian = undefined;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box–Muller; the second value of each pair is kept for the next call). */
  gaussian(): number {
    if (this.spareGaussian !== undefined) {
      const g = this.spareGaussian;
      this.spareGaussian = undefined;
      return g;
    }
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareGaussian = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** The generator's full position, for snapshots. */
  get state(): { s: number; spare: number | null } {
    return { s: this.s, spare: this.spareGaussian ?? null };
  }

  static fromState(state: { s: number; spare: number | null }): SeededRandom {
    const r = new SeededRandom(0);
    r.s = state.s >>> 0;
    r.spareGaussian = state.spare ?? undefined;
    return r;
  }
}
