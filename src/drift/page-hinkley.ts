/**
 * PageHinkley: the Page-Hinkley test for a change in the mean of a stream.
 *
 * Keeps the running mean x̄ and the cumulative deviation m_T = Σ (x_t − x̄_t − δ) together with
 * its minimum M_T; a rise of the mean shows as m_T − M_T growing past λ. With `direction:
 * 'both'` the mirrored sum watches for a fall too. After an alarm it starts over, so one
 * change raises one alarm.
 *
 * Differences from the textbook: an optional forgetting factor α on the cumulative sum (river
 * does the same) so evidence from long ago fades; the detection reports the record where m_T
 * last sat at its minimum, which estimates where the change began, and where the test's
 * window started (its last reset).
 *
 * Parameters: delta (δ, the magnitude of change tolerated, in the stream's units; 0.005–0.1 of
 * a standard deviation), threshold (λ, the evidence needed; 10–100 standard deviations × records:
 * higher means fewer false alarms and later detection), alpha (forgetting factor in (0, 1],
 * 1 − 1e-4 is typical), minInstances (records seen after a reset before an alarm may fire),
 * direction ('up' or 'both').
 *
 * State: count, mean, the two cumulative sums, their extrema and where they were reached.
 *
 * Example: fed 1,000 zeros then ones with delta 0.005, threshold 50, alpha 1, minInstances 30,
 * `update` first returns a detection at index 1,051 with changeIndex 1,000.
 *
 * Reference: E. S. Page, "Continuous inspection schemes", Biometrika 41, 1954; river
 * `drift/page_hinkley.py`.
 */
export interface PageHinkleyOptions {
  delta: number;
  threshold: number;
  alpha: number;
  minInstances: number;
  direction: 'up' | 'both';
}

export interface ChangeDetection {
  /** Index (0-based, counted across resets) of the record that raised the alarm. */
  index: number;
  /** First record of the window the test had accumulated over. */
  windowStart: number;
  /** Estimated first record after the change. */
  changeIndex: number;
  /** The test statistic at the alarm, and its direction. */
  statistic: number;
  direction: 'up' | 'down';
}

export class PageHinkley {
  private index = -1;
  private start = 0;
  private n = 0;
  private mean = 0;
  private up = 0;
  private upMin = 0;
  private upMinAt = 0;
  private down = 0;
  private downMax = 0;
  private downMaxAt = 0;

  constructor(readonly options: PageHinkleyOptions) {}

  /** Feeds one value; returns a detection, or null. */
  update(x: number): ChangeDetection | null {
    const o = this.options;
    this.index++;
    this.n++;
    this.mean += (x - this.mean) / this.n;
    const dev = x - this.mean;
    this.up = o.alpha * this.up + dev - o.delta;
    this.down = o.alpha * this.down + dev + o.delta;
    if (this.up < this.upMin) [this.upMin, this.upMinAt] = [this.up, this.index + 1];
    if (this.down > this.downMax) [this.downMax, this.downMaxAt] = [this.down, this.index + 1];
    if (this.n < o.minInstances) return null;
    const rise = this.up - this.upMin;
    const fall = this.downMax - this.down;
    let hit: ChangeDetection | null = null;
    if (rise > o.threshold) {
      hit = this.detection(rise, 'up', this.upMinAt);
    } else if (o.direction === 'both' && fall > o.threshold) {
      hit = this.detection(fall, 'down', this.downMaxAt);
    }
    if (hit !== null) this.reset();
    return hit;
  }

  private detection(statistic: number, direction: 'up' | 'down', at: number): ChangeDetection {
    return {
      index: this.index,
      windowStart: this.start,
      changeIndex: Math.max(this.start, at),
      statistic,
      direction,
    };
  }

  private reset(): void {
    this.start = this.index + 1;
    this.n = 0;
    this.mean = 0;
    this.up = 0;
    this.upMin = 0;
    this.upMinAt = this.start;
    this.down = 0;
    this.downMax = 0;
    this.downMaxAt = this.start;
  }
}
