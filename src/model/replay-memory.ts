/**
 * ReplayMemory: the records the online learner trains on, so that the training budget does not
 * depend on the arrival rate. Each arriving batch is remembered, and every training step draws
 * its rows from the memory (the newest batch and older records alike), as experience replay
 * does in reinforcement learning and the sample memory of online deep clustering (ODC) does.
 *
 * Policies:
 * - `reservoir` (default): Vitter's algorithm R, a uniform sample of everything seen so far, so
 *   a rare cluster seen an hour ago is still represented;
 * - `recent`: a ring of the last `capacity` records, which follows a drifting stream faster and
 *   forgets what it no longer shows.
 *
 * Parameters: `dim` (features per row, ≥ 1), `capacity` (rows kept, ≥ 1; 4,096 by default in
 * the configuration, 16 KiB per feature), `policy`, `seed` (reservoir replacement and sampling
 * draws).
 *
 * State: capacity × dim features, how many rows are held and how many were ever offered, the
 * generator's position; `snapshot` / `restore` carry all of it, so a resumed run samples what
 * the original would have.
 */
import { SeededRandom } from '../cluster/seeded-random.js';

export type ReplayPolicy = 'reservoir' | 'recent';

export interface ReplayMemorySnapshot {
  dim: number;
  capacity: number;
  policy: ReplayPolicy;
  seen: number;
  /** Held rows × dim, base64 of the Float32Array. */
  rows: string;
  random: { s: number; spare: number | null };
}

export class ReplayMemory {
  private readonly data: Float32Array;
  private held = 0;
  private seen = 0;
  private random: SeededRandom;

  constructor(
    readonly dim: number,
    readonly capacity: number,
    readonly policy: ReplayPolicy,
    seed: number,
  ) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new RangeError(`ReplayMemory: dim must be a positive integer, got ${dim}`);
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ReplayMemory: capacity must be a positive integer, got ${capacity}`);
    this.data = new Float32Array(capacity * dim);
    this.random = new SeededRandom(seed);
  }

  /** Rows held now (at most capacity). */
  get size(): number {
    return this.held;
  }

  /** Rows ever offered. */
  get offered(): number {
    return this.seen;
  }

  /** Offers rows × dim features (copied). */
  add(features: Float32Array): void {
    if (features.length % this.dim !== 0) {
      throw new RangeError(
        `ReplayMemory.add: ${features.length} values is not a multiple of dim = ${this.dim}`,
      );
    }
    const rows = features.length / this.dim;
    for (let i = 0; i < rows; i++) {
      const row = features.subarray(i * this.dim, (i + 1) * this.dim);
      let slot: number;
      if (this.held < this.capacity) slot = this.held++;
      else if (this.policy === 'recent') slot = this.seen % this.capacity;
      else {
        const j = this.random.nextInt(this.seen + 1);
        slot = j < this.capacity ? j : -1;
      }
      if (slot >= 0) this.data.set(row, slot * this.dim);
      this.seen += 1;
    }
  }

  /**
   * `n` rows drawn without replacement (all of them, shuffled, when fewer are held), rows × dim.
   */
  sample(n: number): Float32Array {
    const take = Math.min(n, this.held);
    const order = Int32Array.from({ length: this.held }, (_, i) => i);
    for (let i = 0; i < take; i++) {
      const j = i + this.random.nextInt(this.held - i);
      const swap = order[i]!;
      order[i] = order[j]!;
      order[j] = swap;
    }
    const out = new Float32Array(take * this.dim);
    for (let i = 0; i < take; i++) {
      const r = order[i]!;
      out.set(this.data.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim);
    }
    return out;
  }

  snapshot(): ReplayMemorySnapshot {
    const rows = this.data.slice(0, this.held * this.dim);
    return {
      dim: this.dim,
      capacity: this.capacity,
      policy: this.policy,
      seen: this.seen,
      rows: Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).toString('base64'),
      random: this.random.state,
    };
  }

  static restore(snapshot: ReplayMemorySnapshot): ReplayMemory {
    const memory = new ReplayMemory(snapshot.dim, snapshot.capacity, snapshot.policy, 0);
    const bytes = Buffer.from(snapshot.rows, 'base64');
    const rows = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
    memory.data.set(rows.subarray(0, memory.data.length));
    memory.held = Math.min(rows.length / snapshot.dim, snapshot.capacity);
    memory.seen = snapshot.seen;
    memory.random = SeededRandom.fromState(snapshot.random);
    return memory;
  }
}
