import { rowSquaredNorms } from './nearest-centroid.js';

/**
 * The store's centroids as parallel typed arrays, rows kept sorted by stable id, so "stable-id
 * order" needs no sort on read and a newly born cluster (always the largest id so far) is an
 * append. Centroids are float64: a long-lived running mean accumulates rounding error in
 * float32 after a few million updates.
 *
 * State per row: id, centroid (dim values), weight, squared norm (cached for the assignment
 * kernel; refreshed with `refreshNorms` after any change) and the batch index before which the
 * row is exempt from dying-cluster recovery (so a just re-seeded cluster gets time to attract
 * points).
 */
export class CentroidTable {
  count = 0;
  ids: Int32Array;
  data: Float64Array;
  weights: Float64Array;
  norms2: Float64Array;
  graceUntil: Float64Array;

  constructor(
    readonly dim: number,
    capacity: number,
  ) {
    this.ids = new Int32Array(capacity);
    this.data = new Float64Array(capacity * dim);
    this.weights = new Float64Array(capacity);
    this.norms2 = new Float64Array(capacity);
    this.graceUntil = new Float64Array(capacity);
  }

  /** Inserts a row at its id's sorted position; returns the row index. */
  insert(id: number, vector: ArrayLike<number>, weight: number, graceUntil: number): number {
    if (this.rowOf(id) >= 0) throw new Error(`cluster id ${id} already exists`);
    this.grow(this.count + 1);
    let at = this.count;
    while (at > 0 && this.ids[at - 1]! > id) at--;
    const d = this.dim;
    this.ids.copyWithin(at + 1, at, this.count);
    this.weights.copyWithin(at + 1, at, this.count);
    this.norms2.copyWithin(at + 1, at, this.count);
    this.graceUntil.copyWithin(at + 1, at, this.count);
    this.data.copyWithin((at + 1) * d, at * d, this.count * d);
    this.ids[at] = id;
    this.weights[at] = weight;
    this.graceUntil[at] = graceUntil;
    for (let t = 0; t < d; t++) this.data[at * d + t] = vector[t]!;
    this.count++;
    this.refreshNorms();
    return at;
  }

  remove(row: number): void {
    const d = this.dim;
    this.ids.copyWithin(row, row + 1, this.count);
    this.weights.copyWithin(row, row + 1, this.count);
    this.norms2.copyWithin(row, row + 1, this.count);
    this.graceUntil.copyWithin(row, row + 1, this.count);
    this.data.copyWithin(row * d, (row + 1) * d, this.count * d);
    this.count--;
  }

  rowOf(id: number): number {
    for (let r = 0; r < this.count; r++) if (this.ids[r] === id) return r;
    return -1;
  }

  row(r: number): Float64Array {
    return this.data.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /** Row with the largest weight other than `exclude` (ties: lowest id), or -1. */
  largestRow(exclude = -1): number {
    let best = -1;
    for (let r = 0; r < this.count; r++) {
      if (r === exclude) continue;
      if (best < 0 || this.weights[r]! > this.weights[best]!) best = r;
    }
    return best;
  }

  refreshNorms(): void {
    rowSquaredNorms(this.data, this.count, this.dim, this.norms2);
  }

  activeIds(): Int32Array {
    return this.ids.slice(0, this.count);
  }

  private grow(needed: number): void {
    if (needed <= this.ids.length) return;
    const cap = Math.max(needed, this.ids.length * 2);
    const d = this.dim;
    const ids = new Int32Array(cap);
    ids.set(this.ids);
    const data = new Float64Array(cap * d);
    data.set(this.data);
    const weights = new Float64Array(cap);
    weights.set(this.weights);
    const norms2 = new Float64Array(cap);
    norms2.set(this.norms2);
    const grace = new Float64Array(cap);
    grace.set(this.graceUntil);
    this.ids = ids;
    this.data = data;
    this.weights = weights;
    this.norms2 = norms2;
    this.graceUntil = grace;
  }
}
