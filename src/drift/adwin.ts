import type { ChangeDetection } from './page-hinkley.js';

/**
 * Adwin: ADaptive WINdowing (ADWIN2) change detection on a stream of real values.
 *
 * Keeps a window of recent values, compressed into an exponential histogram (rows of buckets;
 * row i holds buckets of 2^i values, at most `maxBuckets` per row, so the memory is
 * O(maxBuckets · log W)). Every `clock` values it tries every split of the window into an
 * older part W0 and a newer part W1 (at bucket boundaries) and drops the oldest bucket while
 * some split has means further apart than
 *
 *     ε_cut = sqrt(2 · m · σ²_W · ln(2 ln n / δ)) + (2/3) · m · ln(2 ln n / δ),
 *     m = 1/(n0 − minWindow + 1) + 1/(n1 − minWindow + 1),
 *
 * which bounds the false-alarm probability by δ (Bernstein form, as in MOA's ADWIN).
 *
 * Differences from the textbook: checks run every `clock` values rather than on every value
 * (the usual implementation choice), and nothing is checked before `gracePeriod` values.
 * A detection reports the window before the cut and the first value kept after it, which
 * estimates where the change began.
 *
 * Parameters: delta (confidence, 0.0001–0.01; smaller means fewer false alarms, later
 * detection), clock (values between checks, 1–128), maxBuckets (buckets per row, 3–9),
 * minWindow (smallest sub-window tested, ≥ 1), gracePeriod (values before the first check).
 *
 * State: the bucket rows (total and variance per bucket), the window's width, total and
 * variance, and the index of the last value seen.
 *
 * Example: fed 2,000 values alternating 0 and 1 then 2,000 alternating 2 and 3, with delta
 * 0.002, clock 32, maxBuckets 5, minWindow 5, gracePeriod 10, `update` returns a detection
 * at index 2,015 with windowStart 0 and changeIndex 1,960 (the cut falls on a bucket boundary,
 * so the kept window still holds 40 values from before the change).
 *
 * References: A. Bifet, R. Gavaldà, "Learning from time-changing data with adaptive
 * windowing", SDM 2007; MOA `ADWIN.java`; river `drift/adwin.py`.
 */
export interface AdwinOptions {
  delta: number;
  clock: number;
  maxBuckets: number;
  minWindow: number;
  gracePeriod: number;
}

interface Bucket {
  total: number;
  variance: number;
}

export class Adwin {
  private rows: Bucket[][] = [[]];
  private width = 0;
  private total = 0;
  private variance = 0;
  private index = -1;

  constructor(readonly options: AdwinOptions) {}

  get windowWidth(): number {
    return this.width;
  }

  get windowMean(): number {
    return this.width > 0 ? this.total / this.width : 0;
  }

  update(x: number): ChangeDetection | null {
    this.index++;
    this.insert(x);
    const o = this.options;
    if ((this.index + 1) % o.clock !== 0 || this.width <= o.gracePeriod) return null;
    const before = this.width;
    let statistic = 0;
    let direction: 'up' | 'down' = 'up';
    for (;;) {
      const diff = this.findCut();
      if (diff === null) break;
      if (Math.abs(diff) > statistic) {
        statistic = Math.abs(diff);
        // diff is mean(older) − mean(newer): negative when the stream went up.
        direction = diff < 0 ? 'up' : 'down';
      }
      this.dropOldest();
    }
    if (this.width === before) return null;
    return {
      index: this.index,
      windowStart: this.index - before + 1,
      changeIndex: this.index - this.width + 1,
      statistic,
      direction,
    };
  }

  private insert(x: number): void {
    if (this.width > 0) {
      const mean = this.total / this.width;
      this.variance += (this.width * (x - mean) ** 2) / (this.width + 1);
    }
    this.width++;
    this.total += x;
    this.rows[0]!.push({ total: x, variance: 0 });
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[i]!;
      if (row.length <= this.options.maxBuckets) break;
      // Merge the two oldest buckets of row i into one of row i + 1.
      const a = row.shift()!;
      const b = row.shift()!;
      const n = 2 ** i;
      const merged = {
        total: a.total + b.total,
        variance: a.variance + b.variance + (n * n * (a.total / n - b.total / n) ** 2) / (2 * n),
      };
      if (i + 1 === this.rows.length) this.rows.push([]);
      this.rows[i + 1]!.push(merged);
    }
  }

  /** Scans splits from oldest to newest; returns the mean difference of the first cut, or null. */
  private findCut(): number | null {
    const o = this.options;
    let n0 = 0;
    let u0 = 0;
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const size = 2 ** i;
      for (const bucket of this.rows[i]!) {
        n0 += size;
        u0 += bucket.total;
        const n1 = this.width - n0;
        if (n1 < o.minWindow) return null;
        if (n0 < o.minWindow) continue;
        const diff = u0 / n0 - (this.total - u0) / n1;
        if (Math.abs(diff) > this.epsilonCut(n0, n1)) return diff;
      }
    }
    return null;
  }

  private epsilonCut(n0: number, n1: number): number {
    const o = this.options;
    const dd = Math.log((2 * Math.log(this.width)) / o.delta);
    const m = 1 / (n0 - o.minWindow + 1) + 1 / (n1 - o.minWindow + 1);
    const v = this.variance / this.width;
    return Math.sqrt(2 * m * v * dd) + (2 / 3) * dd * m;
  }

  private dropOldest(): void {
    const top = this.rows.length - 1;
    const row = this.rows[top]!;
    const b = row.shift()!;
    const n = 2 ** top;
    const rest = this.width - n;
    if (rest > 0) {
      const restMean = (this.total - b.total) / rest;
      this.variance -= b.variance + (n * rest * (b.total / n - restMean) ** 2) / (n + rest);
    } else {
      this.variance = 0;
    }
    this.variance = Math.max(0, this.variance);
    this.width = rest;
    this.total -= b.total;
    if (row.length === 0 && this.rows.length > 1) this.rows.pop();
  }
}
