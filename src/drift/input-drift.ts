import { kMeansPlusPlus } from '../cluster/k-means-plus-plus.js';
import { SeededRandom } from '../cluster/seeded-random.js';
import { chiSquareCritical, ksCritical, normalUpperQuantile } from './tests.js';

/**
 * InputDrift: data drift measured on the decoded features before any scaling, so that neither
 * the running standardiser nor a training network can absorb or fake it.
 *
 * The first `referenceRecords` records form the reference. After it, a sliding window of the
 * last `windowRecords` records is compared with it every `checkEveryRecords` records by three
 * two-sample tests, each at a false-alarm probability of `alpha` per check split evenly over the
 * tests (Bonferroni):
 *
 * - per feature, Kolmogorov–Smirnov, evaluated at up to `gridPoints` quantiles of the
 *   reference. Quantiles that coincide (ties: a count that is mostly 0, a constant) are merged
 *   into one point, so a zero-inflated feature is compared on its share of zeros and on the
 *   rest, not on degenerate bins; heavy tails do not matter to a rank test. KS needs no bins to
 *   be tuned and its critical value depends only on the sample sizes;
 * - the shares of the records among `prototypes` reference prototypes (k-means in the
 *   reference's standardised space; two-sample χ²), which sees a cluster born or gone;
 * - the distance to the nearest prototype (KS), which sees a spread that grows or shrinks, and
 *   the share of records farther from every prototype than 99 % of the reference (one-sided
 *   two-sample test of proportions), which sees a few records far from everything known.
 *
 * A check reports each test's statistic against its critical value, the features that moved
 * (with the shift of their mean in reference standard deviations) and a severity: the largest
 * statistic / critical value. `rebase()` starts a new reference from the next records; a drift
 * incident does that once the change is found, so the new state becomes the reference.
 *
 * The proportions test uses the normal approximation; with the default sizes (2,000 records on
 * each side, about 20 reference records beyond the quantile) it errs on the side of silence.
 *
 * The window is made of whole blocks of `checkEveryRecords` records, counted in when the block
 * is full, just before its check. Cost per tested record: a table lookup (and a step or two of
 * search) per feature and `prototypes` distances; a check is O(features × gridPoints),
 * independent of the window. Above 64 features only every ceil(features / 64)-th record is
 * tested (`sampleEvery`), so the cost per record stays about that of 64 features.
 *
 * References: F. J. Massey, "The Kolmogorov–Smirnov test for goodness of fit", JASA 1951 (the
 * two-sample form and its asymptotic critical values); S. Rabanser et al., "Failing loudly: an
 * empirical study of methods for detecting dataset shift", NeurIPS 2019 (univariate KS with a
 * Bonferroni correction as a strong detector on the raw inputs); river `drift/kswin.py`.
 */
export interface InputDriftOptions {
  referenceRecords: number;
  windowRecords: number;
  checkEveryRecords: number;
  alpha: number;
  prototypes: number;
  gridPoints: number;
  seed: number;
}

export const inputDriftDefaults: InputDriftOptions = {
  referenceRecords: 2_000,
  windowRecords: 2_000,
  checkEveryRecords: 250,
  alpha: 1e-6,
  prototypes: 16,
  gridPoints: 256,
  seed: 7,
};

export interface FeatureShift {
  feature: number;
  /** KS statistic: the largest gap between the two empirical distribution functions. */
  statistic: number;
  threshold: number;
  /** (window mean − reference mean) / reference standard deviation. */
  meanShift: number;
}

export interface InputDriftCheck {
  /** Index of the last record in the window (records counted from the first one observed). */
  atRecord: number;
  windowStart: number;
  drift: boolean;
  /** Every feature's KS statistic against its critical value, largest statistic first. */
  features: FeatureShift[];
  shares: { statistic: number; threshold: number; degreesOfFreedom: number };
  distance: { statistic: number; threshold: number };
  /** Share of the window beyond the reference's 99th distance percentile: z against critical z. */
  outliers: { share: number; referenceShare: number; statistic: number; threshold: number };
  /** The largest statistic / critical value over all tests: above 1 is drift. */
  severity: number;
}

const BUCKETS = 1024;

/** The tests a check runs, as named in incidents and on /metrics. */
export const INPUT_DRIFT_TESTS = [
  'feature-ks',
  'prototype-shares',
  'prototype-distance',
  'input-outliers',
] as const;
export type InputDriftTest = (typeof INPUT_DRIFT_TESTS)[number];

/** Each test's statistic over its critical value (feature-ks: the worst feature); above 1 is drift. */
export function testRatios(check: InputDriftCheck): Record<InputDriftTest, number> {
  const worst = check.features[0];
  return {
    'feature-ks': worst === undefined ? Number.NaN : worst.statistic / worst.threshold,
    'prototype-shares': check.shares.statistic / check.shares.threshold,
    'prototype-distance': check.distance.statistic / check.distance.threshold,
    'input-outliers': check.outliers.statistic / check.outliers.threshold,
  };
}

/** A quantile grid of one reference sample and the reference's distribution function on it. */
class Grid {
  readonly points: Float64Array;
  readonly referenceCdf: Float64Array;

  constructor(sorted: Float64Array, maxPoints: number) {
    const n = sorted.length;
    const points: number[] = [];
    for (let g = 1; g <= maxPoints; g++) {
      const v = sorted[Math.min(n - 1, Math.ceil((g * n) / maxPoints) - 1)]!;
      if (points.length === 0 || v > points[points.length - 1]!) points.push(v);
    }
    this.points = Float64Array.from(points);
    this.referenceCdf = new Float64Array(points.length);
    let i = 0;
    for (let g = 0; g < points.length; g++) {
      while (i < n && sorted[i]! <= points[g]!) i++;
      this.referenceCdf[g] = i / n;
    }
    const range = points[points.length - 1]! - points[0]!;
    this.scale = range > 0 ? BUCKETS / range : 0;
    this.starts = this.buildStarts();
  }

  /** Number of cells: one per grid point (values ≤ it, above the one before) and one above. */
  get cells(): number {
    return this.points.length + 1;
  }

  /**
   * For BUCKETS equal slices of [first point, last point]: the first grid point at or above the
   * slice's start. A value's cell then lies between its slice's entry and the next one's, which
   * are mostly equal or adjacent: one or two steps instead of a binary search over the whole
   * grid (whose mispredicted branches were most of the cost per record).
   */
  readonly starts: Int32Array;
  readonly scale: number;

  private buildStarts(): Int32Array {
    const p = this.points;
    const starts = new Int32Array(BUCKETS + 1);
    let g = 0;
    for (let b = 0; b <= BUCKETS; b++) {
      const v = p[0]! + b / this.scale;
      while (g < p.length && p[g]! < v) g++;
      starts[b] = g;
    }
    starts[BUCKETS] = p.length;
    return starts;
  }

  /** The cell of a value: the first grid point ≥ it, or the last cell. */
  cell(x: number): number {
    const p = this.points;
    if (!(x > p[0]!)) return 0;
    const b = Math.floor((x - p[0]!) * this.scale);
    if (b >= BUCKETS) return x > p[p.length - 1]! ? p.length : p.length - 1;
    let lo = this.starts[b]!;
    let hi = this.starts[b + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** KS statistic of a window's cell counts (at this grid's points) against the reference. */
  ks(counts: Int32Array, offset: number, total: number): number {
    let cumulative = 0;
    let d = 0;
    for (let g = 0; g < this.points.length; g++) {
      cumulative += counts[offset + g]!;
      d = Math.max(d, Math.abs(cumulative / total - this.referenceCdf[g]!));
    }
    return d;
  }
}

interface Reference {
  mean: Float64Array;
  std: Float64Array;
  grids: Grid[];
  /** Cell offsets of each feature in the window's count array. */
  offsets: Int32Array;
  prototypes: Float64Array;
  prototypeCount: number;
  /** Reference records the shares and distances were measured on (not fitted on). */
  heldOut: number;
  shareCounts: Float64Array;
  distanceGrid: Grid;
  /** The distance grid point at the reference's 99th percentile, and the share beyond it. */
  outlierPoint: number;
  outlierShare: number;
}

const OUTLIER_QUANTILE = 0.99;

/** One block of `checkEveryRecords` records: what it adds to the window's counts. */
interface Block {
  records: number;
  /** Records whose prototype was looked up (all of them; kept apart for the tests' sizes). */
  sampled: number;
  featureCounts: Int32Array;
  sums: Float64Array;
  shareCounts: Int32Array;
  distanceCounts: Int32Array;
}

export class InputDrift {
  readonly options: InputDriftOptions;
  readonly dim: number;
  /**
   * Every this many records one is tested: 1 up to 64 features, ceil(features / 64) above, so
   * the cost per record stays about that of 64 features (and a change takes proportionally more
   * records to find). The reference, the window and the check interval count tested records.
   */
  readonly sampleEvery: number;
  private sinceSample = 0;
  private records = 0;
  private reference: Reference | null = null;
  private building: Float32Array[] = [];
  private buildingRows = 0;
  // The window is made of whole blocks, one per check: the block being filled (raw rows), the
  // blocks in the window, oldest first, and their sums.
  private pending = new Float32Array(0);
  private pendingRows = 0;
  private blocks: Block[] = [];
  private spare: Block[] = [];
  private windowRecords = 0;
  private windowSampled = 0;
  private featureCounts = new Int32Array(0);
  private shareCounts = new Int32Array(0);
  private distanceCounts = new Int32Array(0);
  private sums = new Float64Array(0);
  private readonly z: Float64Array;

  constructor(dim: number, options: Partial<InputDriftOptions> = {}) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new RangeError(`InputDrift: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.options = { ...inputDriftDefaults, ...options };
    this.sampleEvery = Math.max(1, Math.ceil(dim / 64));
    this.z = new Float64Array(dim);
  }

  get referenceReady(): boolean {
    return this.reference !== null;
  }

  /** Records observed so far. */
  get recordsSeen(): number {
    return this.records;
  }

  /** Observes `rows` records (row-major raw features); returns the checks that fell due. */
  observe(raw: Float32Array, rows = raw.length / this.dim): InputDriftCheck[] {
    const checks: InputDriftCheck[] = [];
    const d = this.dim;
    const b = this.options.checkEveryRecords;
    for (let r = 0; r < rows; r++) {
      this.records += 1;
      if (++this.sinceSample < this.sampleEvery) continue;
      this.sinceSample = 0;
      if (this.reference === null) {
        this.building.push(raw.slice(r * d, (r + 1) * d));
        this.buildingRows += 1;
        if (this.buildingRows >= this.options.referenceRecords) this.buildReference();
        continue;
      }
      const to = this.pendingRows * d;
      for (let t = 0; t < d; t++) this.pending[to + t] = raw[r * d + t]!;
      this.pendingRows += 1;
      if (this.pendingRows === b) {
        this.addBlock();
        checks.push(this.check());
      }
    }
    return checks;
  }

  /** Forgets the reference and the window; the next referenceRecords records form a new one. */
  rebase(): void {
    this.reference = null;
    this.building = [];
    this.buildingRows = 0;
    this.pendingRows = 0;
    this.spare.push(...this.blocks);
    this.blocks = [];
    this.windowRecords = 0;
    this.windowSampled = 0;
  }

  private buildReference(): void {
    const d = this.dim;
    const n = this.buildingRows;
    const { gridPoints } = this.options;
    const mean = new Float64Array(d);
    const std = new Float64Array(d);
    const grids: Grid[] = [];
    const offsets = new Int32Array(d + 1);
    const column = new Float64Array(n);
    for (let f = 0; f < d; f++) {
      for (let i = 0; i < n; i++) column[i] = this.building[i]![f]!;
      let s = 0;
      for (let i = 0; i < n; i++) s += column[i]!;
      const m = s / n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (column[i]! - m) ** 2;
      mean[f] = m;
      // A constant feature keeps unit scale: any other value is then a plain distance.
      std[f] = Math.sqrt(v / Math.max(1, n - 1)) || 1;
      column.sort();
      const grid = new Grid(column, gridPoints);
      grids.push(grid);
      offsets[f + 1] = offsets[f]! + grid.cells;
    }
    // Prototypes: k-means++ and a few Lloyd steps on the standardised reference (values clipped
    // at ±8, so one extreme record cannot claim a prototype of its own).
    const z = new Float32Array(n * d);
    for (let i = 0; i < n; i++) this.standardise(this.building[i]!, mean, std, z, i * d);
    const count = Math.max(1, Math.min(this.options.prototypes, Math.floor(n / 50)));
    const prototypes = kMeansPlusPlus(
      z,
      d,
      count,
      'euclidean',
      new SeededRandom(this.options.seed),
    );
    // Prototypes are fitted on the even reference records and the reference's shares and
    // distances taken on the odd ones: fitted and measured on the same records, the distances
    // would be smaller than any new record's (overfitting, plain at 100 features and more), and
    // a stationary stream would look as if it drifted away.
    const heldOut = Math.floor(n / 2);
    const distances = new Float64Array(heldOut);
    for (let iteration = 0; iteration < 5; iteration++) {
      const sums = new Float64Array(count * d);
      const sizes = new Float64Array(count);
      for (let i = 0; i < n; i += 2) {
        const [p] = this.nearestPrototype(z, i * d, prototypes, count);
        sizes[p]! += 1;
        for (let t = 0; t < d; t++) sums[p * d + t]! += z[i * d + t]!;
      }
      for (let p = 0; p < count; p++) {
        if (sizes[p] === 0) continue;
        for (let t = 0; t < d; t++) prototypes[p * d + t] = sums[p * d + t]! / sizes[p]!;
      }
    }
    const shareCounts = new Float64Array(count);
    for (let h = 0; h < heldOut; h++) {
      const [p, distance] = this.nearestPrototype(z, (2 * h + 1) * d, prototypes, count);
      shareCounts[p]! += 1;
      distances[h] = distance;
    }
    distances.sort();
    const distanceGrid = new Grid(distances, gridPoints);
    let outlierPoint = 0;
    while (
      outlierPoint < distanceGrid.points.length - 1 &&
      distanceGrid.referenceCdf[outlierPoint]! < OUTLIER_QUANTILE
    )
      outlierPoint++;
    this.reference = {
      mean,
      std,
      grids,
      offsets,
      prototypes,
      prototypeCount: count,
      heldOut,
      shareCounts,
      distanceGrid,
      outlierPoint,
      outlierShare: 1 - distanceGrid.referenceCdf[outlierPoint]!,
    };
    const b = this.options.checkEveryRecords;
    this.pending = new Float32Array(b * d);
    this.pendingRows = 0;
    this.spare = [];
    this.blocks = [];
    this.windowRecords = 0;
    this.windowSampled = 0;
    this.featureCounts = new Int32Array(offsets[d]!);
    this.shareCounts = new Int32Array(count);
    this.distanceCounts = new Int32Array(distanceGrid.cells);
    this.sums = new Float64Array(d);
    this.building = [];
    this.buildingRows = 0;
  }

  private standardise(
    row: ArrayLike<number>,
    mean: Float64Array,
    std: Float64Array,
    out: { [i: number]: number },
    at: number,
  ): void {
    for (let t = 0; t < this.dim; t++) {
      out[at + t] = Math.max(-8, Math.min(8, (row[t]! - mean[t]!) / std[t]!));
    }
  }

  private nearestPrototype(
    z: ArrayLike<number>,
    at: number,
    prototypes: Float64Array,
    count: number,
  ): [number, number] {
    const d = this.dim;
    let best = 0;
    let bestDistance = Infinity;
    for (let p = 0; p < count; p++) {
      let s = 0;
      for (let t = 0; t < d && s < bestDistance; t++) {
        const diff = z[at + t]! - prototypes[p * d + t]!;
        s += diff * diff;
      }
      if (s < bestDistance) {
        bestDistance = s;
        best = p;
      }
    }
    return [best, Math.sqrt(bestDistance)];
  }

  /**
   * Counts the pending block into the window and drops the oldest block once the window holds
   * more than `windowRecords`.
   */
  private addBlock(): void {
    const ref = this.reference!;
    const d = this.dim;
    const rows = this.pendingRows;
    const block = this.spare.pop() ?? {
      records: 0,
      sampled: 0,
      featureCounts: new Int32Array(ref.offsets[d]!),
      sums: new Float64Array(d),
      shareCounts: new Int32Array(ref.prototypeCount),
      distanceCounts: new Int32Array(ref.distanceGrid.cells),
    };
    block.featureCounts.fill(0);
    block.sums.fill(0);
    block.shareCounts.fill(0);
    block.distanceCounts.fill(0);
    block.records = rows;
    block.sampled = 0;
    const raw = this.pending;
    const counts = block.featureCounts;
    for (let t = 0; t < d; t++) {
      const { points, starts, scale } = ref.grids[t]!;
      const base = ref.offsets[t]!;
      const first = points[0]!;
      const last = points[points.length - 1]!;
      let sum = 0;
      for (let r = 0; r < rows; r++) {
        const x = raw[r * d + t]!;
        sum += x;
        // Grid.cell, inlined: this loop runs for every value of every record.
        let cell = 0;
        if (x > first) {
          const b = Math.floor((x - first) * scale);
          if (b >= BUCKETS) cell = x > last ? points.length : points.length - 1;
          else {
            let lo = starts[b]!;
            let hi = starts[b + 1]!;
            while (lo < hi) {
              const mid = (lo + hi) >>> 1;
              if (points[mid]! < x) lo = mid + 1;
              else hi = mid;
            }
            cell = lo;
          }
        }
        counts[base + cell]! += 1;
      }
      block.sums[t] = sum;
    }
    const z = this.z;
    const { mean, std, prototypes, prototypeCount } = ref;
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < d; t++) {
        const v = (raw[r * d + t]! - mean[t]!) / std[t]!;
        z[t] = v > 8 ? 8 : v < -8 ? -8 : v;
      }
      // The nearest prototype; a prototype is left as soon as its partial sum is no better.
      let p = 0;
      let best = Infinity;
      for (let q = 0; q < prototypeCount; q++) {
        let sum = 0;
        const at = q * d;
        for (let t = 0; t < d && sum < best; t++) {
          const diff = z[t]! - prototypes[at + t]!;
          sum += diff * diff;
        }
        if (sum < best) {
          best = sum;
          p = q;
        }
      }
      block.shareCounts[p]! += 1;
      block.distanceCounts[ref.distanceGrid.cell(Math.sqrt(best))]! += 1;
      block.sampled += 1;
    }
    this.pendingRows = 0;
    this.blocks.push(block);
    this.merge(block, 1);
    while (
      this.blocks.length > 1 &&
      this.windowRecords - this.blocks[0]!.records >= this.options.windowRecords
    ) {
      const old = this.blocks.shift()!;
      this.merge(old, -1);
      this.spare.push(old);
    }
  }

  private merge(block: Block, sign: 1 | -1): void {
    this.windowRecords += sign * block.records;
    this.windowSampled += sign * block.sampled;
    addInto(this.featureCounts, block.featureCounts, sign);
    addInto(this.sums, block.sums, sign);
    addInto(this.shareCounts, block.shareCounts, sign);
    addInto(this.distanceCounts, block.distanceCounts, sign);
  }

  private check(): InputDriftCheck {
    const ref = this.reference!;
    const d = this.dim;
    const m = this.windowRecords;
    const n = this.options.referenceRecords;
    // d feature tests, the shares, the distances and the outliers.
    const alpha = this.options.alpha / (d + 3);
    const ksThreshold = ksCritical(n, m, alpha);
    const features: FeatureShift[] = [];
    let severity = 0;
    for (let t = 0; t < d; t++) {
      const statistic = ref.grids[t]!.ks(this.featureCounts, ref.offsets[t]!, m);
      features.push({
        feature: t,
        statistic,
        threshold: ksThreshold,
        meanShift: (this.sums[t]! / m - ref.mean[t]!) / ref.std[t]!,
      });
      severity = Math.max(severity, statistic / ksThreshold);
    }
    features.sort((a, b) => b.statistic - a.statistic);
    const shares = this.shareTest(alpha);
    const sampled = this.windowSampled;
    const distanceStatistic = ref.distanceGrid.ks(this.distanceCounts, 0, sampled);
    const outliers = this.outlierTest(alpha);
    severity = Math.max(
      severity,
      shares.statistic / shares.threshold,
      distanceStatistic / ksCritical(ref.heldOut, sampled, alpha),
      outliers.statistic / outliers.threshold,
    );
    return {
      atRecord: this.records,
      windowStart: this.records - m * this.sampleEvery + 1,
      drift: severity > 1,
      features,
      shares,
      distance: {
        statistic: distanceStatistic,
        threshold: ksCritical(ref.heldOut, sampled, alpha),
      },
      outliers,
      severity,
    };
  }

  /** One-sided two-sample z test: more of the window beyond the outlier point than of the reference. */
  private outlierTest(alpha: number): InputDriftCheck['outliers'] {
    const ref = this.reference!;
    const n1 = ref.heldOut;
    const n2 = this.windowSampled;
    let beyond = 0;
    for (let c = ref.outlierPoint + 1; c < this.distanceCounts.length; c++)
      beyond += this.distanceCounts[c]!;
    const share = beyond / n2;
    const pooled = (ref.outlierShare * n1 + beyond) / (n1 + n2);
    const se = Math.sqrt(Math.max(pooled * (1 - pooled), 1e-12) * (1 / n1 + 1 / n2));
    return {
      share,
      referenceShare: ref.outlierShare,
      statistic: Math.max(0, (share - ref.outlierShare) / se),
      threshold: normalUpperQuantile(alpha),
    };
  }

  /** Two-sample χ² on the prototype shares (cells empty in both samples left out). */
  private shareTest(alpha: number): InputDriftCheck['shares'] {
    const ref = this.reference!;
    const n1 = ref.heldOut;
    const n2 = this.windowSampled;
    const k1 = Math.sqrt(n2 / n1);
    const k2 = Math.sqrt(n1 / n2);
    let statistic = 0;
    let cells = 0;
    for (let p = 0; p < ref.prototypeCount; p++) {
      const a = ref.shareCounts[p]!;
      const b = this.shareCounts[p]!;
      if (a + b === 0) continue;
      cells += 1;
      statistic += (k1 * a - k2 * b) ** 2 / (a + b);
    }
    const degreesOfFreedom = Math.max(1, cells - 1);
    return { statistic, threshold: chiSquareCritical(degreesOfFreedom, alpha), degreesOfFreedom };
  }
}

function addInto(into: Int32Array | Float64Array, from: Int32Array | Float64Array, sign: number) {
  for (let i = 0; i < into.length; i++) into[i]! += sign * from[i]!;
}
