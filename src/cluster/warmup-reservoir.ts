import type { SeededRandom } from './seeded-random.js';

/**
 * WarmupReservoir: a uniform sample (Vitter's Algorithm R) of the first `warmupSize` records,
 * from which the store seeds its centroids with k-means++.
 *
 * Records past `warmupSize` are not looked at: the store initialises as soon as that many were
 * seen. With `capacity ≥ warmupSize` the reservoir simply holds every warm-up record; a smaller
 * capacity bounds the memory and the k-means++ cost (O(k · capacity · dim)) for a long warm-up.
 *
 * State: the sample (capacity × dim Float32Array) and the number of records seen.
 *
 * Reference: J. S. Vitter, "Random sampling with a reservoir", ACM TOMS 11(1), 1985.
 */
export class WarmupReservoir {
  readonly data: Float32Array;
  seen: number;

  constructor(
    readonly capacity: number,
    readonly dim: number,
    readonly warmupSize: number,
  ) {
    this.data = new Float32Array(capacity * dim);
    this.seen = 0;
  }

  /** Offers the batch's points in order until warmupSize records were seen. */
  offer(points: Float32Array, rng: SeededRandom): void {
    const n = (points.length / this.dim) | 0;
    for (let i = 0; i < n && this.seen < this.warmupSize; i++) {
      const slot = this.seen < this.capacity ? this.seen : rng.nextInt(this.seen + 1);
      if (slot < this.capacity) {
        this.data.set(points.subarray(i * this.dim, (i + 1) * this.dim), slot * this.dim);
      }
      this.seen++;
    }
  }

  get full(): boolean {
    return this.seen >= this.warmupSize;
  }

  /** The filled part of the sample (a view, not a copy). */
  sample(): Float32Array {
    return this.data.subarray(0, Math.min(this.seen, this.capacity) * this.dim);
  }
}
