/**
 * Seeded telemetry-like streams for the drift benchmark: 24 features of mixed kinds and scales
 * (8 log-normal durations, 8 zero-inflated counts, 8 fractions), 10 clusters with their own
 * parameters, and one scripted change per stream at a known record. The same seed gives the
 * same records.
 */
import { SeededRandom } from '../../src/cluster/seeded-random.js';

export const TELEMETRY_DIM = 24;

export type ChangeKind =
  | 'abrupt shift'
  | 'gradual drift'
  | 'cluster birth'
  | 'cluster death'
  | 'variance change'
  | 'zero-inflated count'
  | 'stationary';

export interface ScriptedChange {
  kind: ChangeKind;
  /** First record after the change (for a gradual drift: its start); -1 when stationary. */
  at: number;
  /** Last record of a gradual drift; equal to `at` for an abrupt one. */
  end: number;
}

interface Cluster {
  logMu: number[];
  logSigma: number;
  countRate: number[];
  zeroShare: number[];
  fractionMu: number[];
}

/** Log-normal, count and fraction features drawn from the generating cluster's parameters. */
export class TelemetryStream {
  private readonly random: SeededRandom;
  private readonly clusters: Cluster[] = [];
  private produced = 0;
  readonly change: ScriptedChange;

  constructor(seed: number, kind: ChangeKind, at: number, gradualRecords = 10_000) {
    this.random = new SeededRandom(seed);
    for (let c = 0; c < 11; c++) this.clusters.push(this.newCluster());
    this.change =
      kind === 'stationary'
        ? { kind, at: -1, end: -1 }
        : { kind, at, end: kind === 'gradual drift' ? at + gradualRecords : at };
  }

  private newCluster(): Cluster {
    const r = this.random;
    const n = (count: number, f: () => number) => Array.from({ length: count }, f);
    return {
      logMu: n(8, () => 1 + 4 * r.next()),
      logSigma: 0.3,
      countRate: n(8, () => 0.5 + 20 * r.next() ** 2),
      zeroShare: n(8, () => 0.7 * r.next()),
      fractionMu: n(8, () => 3 * (2 * r.next() - 1)),
    };
  }

  /** The next record's 24 features (and its cluster id). */
  next(): { features: Float32Array; cluster: number } {
    const r = this.random;
    const i = this.produced++;
    const { kind, at, end } = this.change;
    const after = at >= 0 && i >= at;
    // Ten clusters live at a time: the eleventh is born, the first dies.
    const live =
      kind === 'cluster birth' && after
        ? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        : kind === 'cluster death' && after
          ? [1, 2, 3, 4, 5, 6, 7, 8, 9]
          : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const id = live[r.nextInt(live.length)]!;
    const c = this.clusters[id]!;
    // How far the shift has gone: abrupt 0 → 1, gradual linearly from `at` to `end`.
    const progress = !after ? 0 : end > at ? Math.min(1, (i - at) / (end - at)) : 1;
    const shifting = kind === 'abrupt shift' || kind === 'gradual drift';
    const out = new Float32Array(TELEMETRY_DIM);
    for (let f = 0; f < 8; f++) {
      const shift = shifting && f < 4 ? 0.5 * progress : 0;
      const sigma = kind === 'variance change' && after && f < 4 ? 2 * c.logSigma : c.logSigma;
      out[f] = Math.exp(c.logMu[f]! + shift + sigma * r.gaussian());
    }
    for (let f = 0; f < 8; f++) {
      const zero =
        kind === 'zero-inflated count' && after && f === 0 ? c.zeroShare[f]! / 3 : c.zeroShare[f]!;
      out[8 + f] = r.next() < zero ? 0 : poisson(r, c.countRate[f]!);
    }
    for (let f = 0; f < 8; f++)
      out[16 + f] = 1 / (1 + Math.exp(-(c.fractionMu[f]! + 0.5 * r.gaussian())));
    return { features: out, cluster: id };
  }
}

function poisson(r: SeededRandom, rate: number): number {
  if (rate > 30) return Math.max(0, Math.round(rate + Math.sqrt(rate) * r.gaussian()));
  const limit = Math.exp(-rate);
  let k = 0;
  let p = r.next();
  while (p > limit) {
    k += 1;
    p *= r.next();
  }
  return k;
}
