/**
 * A seeded drifting Gaussian mixture: the built-in demo stream, and the data of tests and
 * benchmarks. Clusters are isotropic Gaussians with centres drawn `separation` apart on
 * average; every `driftEveryRecords` records one event happens, in a fixed rotation: a cluster
 * moves (its centre shifts by half the separation), a new cluster is born, an old one dies.
 * The same seed always gives the same records and labels.
 */
import { SeededRandom } from '../cluster/seeded-random.js';

export interface DriftingMixtureOptions {
  seed: number;
  dim: number;
  clusters: number;
  /** Standard deviation of each cluster. */
  spread: number;
  /** Scale of the centres (drawn uniformly in a cube of this half-width times sqrt(clusters)). */
  separation: number;
  /** Records between drift events; 0 = a stationary mixture. */
  driftEveryRecords: number;
}

export interface MixturePoint {
  features: number[];
  /** Id of the generating cluster (ids are never reused after a death). */
  label: number;
}

export type DriftEventKind = 'move' | 'birth' | 'death';

export class DriftingMixture {
  private readonly options: DriftingMixtureOptions;
  private readonly random: SeededRandom;
  private readonly centres = new Map<number, number[]>();
  private nextId = 0;
  private produced = 0;
  private eventIndex = 0;
  /** Drift events so far: the record index at which each took effect. */
  readonly events: { atRecord: number; kind: DriftEventKind; cluster: number }[] = [];

  constructor(options: DriftingMixtureOptions) {
    if (options.clusters < 1)
      throw new RangeError(`clusters must be >= 1, got ${options.clusters}`);
    this.options = options;
    this.random = new SeededRandom(options.seed);
    for (let i = 0; i < options.clusters; i++) this.birth();
  }

  next(): MixturePoint {
    const { driftEveryRecords } = this.options;
    if (driftEveryRecords > 0 && this.produced > 0 && this.produced % driftEveryRecords === 0)
      this.drift();
    this.produced += 1;
    const ids = [...this.centres.keys()];
    const label = ids[this.random.nextInt(ids.length)] as number;
    const centre = this.centres.get(label) as number[];
    const features = centre.map((c) => c + this.options.spread * this.random.gaussian());
    return { features, label };
  }

  get recordsProduced(): number {
    return this.produced;
  }

  private birth(): number {
    const half = this.options.separation * Math.sqrt(Math.max(1, this.options.clusters)) * 0.5;
    const centre = Array.from(
      { length: this.options.dim },
      () => (2 * this.random.next() - 1) * half,
    );
    const id = this.nextId++;
    this.centres.set(id, centre);
    return id;
  }

  private drift(): void {
    const kind: DriftEventKind =
      (['move', 'birth', 'death'] as const)[this.eventIndex % 3] ?? 'move';
    this.eventIndex += 1;
    const ids = [...this.centres.keys()];
    if (kind === 'birth') {
      this.events.push({ atRecord: this.produced, kind, cluster: this.birth() });
    } else if (kind === 'death' && ids.length > 1) {
      const victim = ids[this.random.nextInt(ids.length)] as number;
      this.centres.delete(victim);
      this.events.push({ atRecord: this.produced, kind, cluster: victim });
    } else {
      const id = ids[this.random.nextInt(ids.length)] as number;
      const centre = this.centres.get(id) as number[];
      const step = this.options.separation * 0.5;
      const direction = centre.map(() => this.random.gaussian());
      const norm = Math.hypot(...direction) || 1;
      this.centres.set(
        id,
        centre.map((c, i) => c + (step * (direction[i] as number)) / norm),
      );
      this.events.push({ atRecord: this.produced, kind: 'move', cluster: id });
    }
  }
}
