/**
 * A seeded uniform sample of at most `capacity` rows of a stream (Vitter's algorithm R), with a
 * payload per row. The evaluation keeps embeddings this way so its memory does not grow with the
 * length of the replayed range.
 */
import { SeededRandom } from '../cluster/seeded-random.js';

export class Reservoir<T> {
  readonly capacity: number;
  private readonly random: SeededRandom;
  private readonly items: T[] = [];
  private seen = 0;

  constructor(capacity: number, seed: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`reservoir capacity must be a positive integer; got ${capacity}`);
    }
    this.capacity = capacity;
    this.random = new SeededRandom(seed);
  }

  add(item: T): void {
    this.seen += 1;
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    const slot = this.random.nextInt(this.seen);
    if (slot < this.capacity) this.items[slot] = item;
  }

  /** Rows offered so far (kept or not). */
  get offered(): number {
    return this.seen;
  }

  values(): readonly T[] {
    return this.items;
  }
}
