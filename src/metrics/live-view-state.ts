/**
 * What the live view (`/` and `/api/live`) shows, kept as a pipeline observer: bounded ring
 * buffers of cluster sizes and drift statistics over time, the drift incidents (from their
 * opening and closing events, as spans of time), the recent lifecycle and drift events, a sample of recent embeddings with their cluster ids, the latest centroids, and the
 * throughput. Everything is bounded, so a pipeline that runs for months holds the same memory
 * as one that runs for a minute.
 *
 * Time series are sampled at most once per `sampleEveryMs` (the last batch of each interval
 * wins) so the history spans minutes whatever the batch rate. The embedding sample is
 * "recent" rather than uniform over all time: each batch contributes a few seeded random rows
 * to a ring, so old points age out as the stream moves. The 2-D picture is a PCA of that
 * sample (centroids projected on the same axes), computed when a snapshot is asked for.
 */
import { profileNumber } from '../cluster/cluster-profiles.js';
import { pca2, project } from './pca.js';

/** The part of the pipeline's BatchReport the live view reads (structural: no pipeline import). */
export interface LiveBatch {
  at: number;
  records: { readonly length: number };
  embeddings: Float32Array;
  embeddingDim: number;
  clusterIds: Int32Array;
  centroids: { ids: Int32Array; data: Float32Array; weights: Float64Array };
  drift:
    | {
        assignmentPsi: number;
        assignmentJs: number;
        distanceEwma: number;
        outlierShare: number;
        centroidShiftMean: number;
      }
    | undefined;
  /** The input-drift tests' last severity (statistic / critical value), when they have one. */
  inputDrift?: number | undefined;
  events: readonly { type: string; kind: string; at: number; detail: Record<string, unknown> }[];
  modelVersion: number;
  storeVersion: number;
  losses: Readonly<Record<string, number>>;
}

export interface LiveViewOptions {
  /** Points kept per time series. */
  historyPoints?: number;
  sampleEveryMs?: number;
  /** Recent embeddings kept for the 2-D picture. */
  embeddingSample?: number;
  /** Rows each batch adds to the embedding sample at most. */
  samplePerBatch?: number;
  events?: number;
  /** Window of the throughput figure. */
  throughputWindowMs?: number;
  seed?: number;
}

interface DriftPoint {
  t: number;
  input: number | null;
  psi: number | null;
  js: number | null;
  ewma: number | null;
  outliers: number | null;
  shift: number | null;
}

interface LiveEvent {
  t: number;
  type: string;
  kind: string;
  detector: string | null;
  cluster: number | null;
  /** For drift incidents: its number, level and what moved, in words. */
  incident: number | null;
  what: string | null;
}

/** A drift incident as a span of wall-clock time (`to` null while it is open). */
interface LiveIncident {
  id: number;
  from: number;
  to: number | null;
  level: string;
  what: string;
}

const MAX_INCIDENTS = 50;

class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }
  /** Oldest first. */
  toArray(): T[] {
    return this.items.length < this.capacity
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
  get length(): number {
    return this.items.length;
  }
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export class LiveViewState {
  private readonly options: Required<LiveViewOptions>;
  private readonly sizes: Ring<{ t: number; clusters: Record<string, number> }>;
  private readonly drift: Ring<DriftPoint>;
  private readonly events: Ring<LiveEvent>;
  private readonly incidents = new Map<number, LiveIncident>();
  private readonly sample: Ring<{ embedding: Float32Array; cluster: number }>;
  private readonly throughput: Ring<{ t: number; records: number }>;
  private latest: LiveBatch | undefined;
  private startedAt: number | undefined;
  private totals = { records: 0, batches: 0 };
  private random: () => number;

  constructor(options: LiveViewOptions = {}) {
    this.options = {
      historyPoints: 600,
      sampleEveryMs: 1000,
      embeddingSample: 600,
      samplePerBatch: 24,
      events: 200,
      throughputWindowMs: 10_000,
      seed: 1,
      ...options,
    };
    this.sizes = new Ring(this.options.historyPoints);
    this.drift = new Ring(this.options.historyPoints);
    this.events = new Ring(this.options.events);
    this.sample = new Ring(this.options.embeddingSample);
    this.throughput = new Ring(1024);
    this.random = mulberry32(this.options.seed);
  }

  onBatch(report: LiveBatch): void {
    const sampled =
      this.latest === undefined || report.at - this.lastSampleAt() >= this.options.sampleEveryMs;
    this.latest = report;
    this.startedAt ??= report.at;
    this.totals.records += report.records.length;
    this.totals.batches += 1;
    this.throughput.push({ t: report.at, records: report.records.length });
    for (const e of report.events) {
      const live = toLiveEvent(e);
      this.events.push(live);
      if (live.incident !== null) this.trackIncident(live, e.detail);
    }
    this.addToSample(report);
    if (sampled) this.recordSeries(report);
  }

  /** The JSON the live page polls. */
  snapshot(
    extra: {
      backend?: string | undefined;
      now?: number;
      profiles?: readonly unknown[];
      /** The consumer group's shared state (sync.enabled), as GroupSync.status() gives it. */
      group?: unknown;
    } = {},
  ): Record<string, unknown> {
    const now = extra.now ?? Date.now();
    const latest = this.latest;
    return {
      now,
      backend: extra.backend ?? null,
      group: extra.group ?? null,
      records: this.totals.records,
      batches: this.totals.batches,
      recordsPerSecond: this.recordsPerSecond(now),
      modelVersion: latest?.modelVersion ?? null,
      storeVersion: latest?.storeVersion ?? null,
      losses: latest?.losses ?? {},
      sizes: this.sizes.toArray(),
      drift: this.drift.toArray(),
      incidents: [...this.incidents.values()],
      events: this.events.toArray(),
      projection: this.projection(),
      // What each cluster holds in input units, given by the pipeline (cluster-profiles.ts).
      profiles: extra.profiles ?? [],
    };
  }

  private trackIncident(e: LiveEvent, detail: Record<string, unknown>): void {
    const id = e.incident!;
    const opened = typeof detail['openedAtMs'] === 'number' ? detail['openedAtMs'] : e.t;
    const closed = typeof detail['closedAtMs'] === 'number' ? detail['closedAtMs'] : null;
    this.incidents.set(id, {
      id,
      from: this.incidents.get(id)?.from ?? opened,
      to: e.kind === 'incident-closed' ? (closed ?? e.t) : null,
      level: typeof detail['level'] === 'string' ? detail['level'] : '',
      what: e.what ?? '',
    });
    if (this.incidents.size > MAX_INCIDENTS) {
      const oldest = this.incidents.keys().next().value;
      if (oldest !== undefined) this.incidents.delete(oldest);
    }
  }

  private lastSampleAt(): number {
    const all = this.sizes.toArray();
    return all[all.length - 1]?.t ?? Number.NEGATIVE_INFINITY;
  }

  private recordSeries(report: LiveBatch): void {
    const clusters: Record<string, number> = {};
    report.centroids.ids.forEach(
      (id, i) => (clusters[String(id)] = report.centroids.weights[i] ?? 0),
    );
    this.sizes.push({ t: report.at, clusters });
    const d = report.drift;
    this.drift.push({
      t: report.at,
      input: finite(report.inputDrift ?? Number.NaN),
      psi: d === undefined ? null : finite(d.assignmentPsi),
      js: d === undefined ? null : finite(d.assignmentJs),
      ewma: d === undefined ? null : finite(d.distanceEwma),
      outliers: d === undefined ? null : finite(d.outlierShare),
      shift: d === undefined ? null : finite(d.centroidShiftMean),
    });
  }

  private addToSample(report: LiveBatch): void {
    const n = report.clusterIds.length;
    const dim = report.embeddingDim;
    const take = Math.min(n, this.options.samplePerBatch);
    for (let i = 0; i < take; i++) {
      const row = Math.floor(this.random() * n);
      this.sample.push({
        embedding: report.embeddings.slice(row * dim, (row + 1) * dim),
        cluster: report.clusterIds[row] ?? -1,
      });
    }
  }

  private recordsPerSecond(now: number): number {
    if (this.startedAt === undefined) return 0;
    const from = now - this.options.throughputWindowMs;
    const records = this.throughput
      .toArray()
      .filter((p) => p.t > from)
      .reduce((s, p) => s + p.records, 0);
    // Over the window, or over the pipeline's life while it is younger than the window.
    const seconds = Math.min(this.options.throughputWindowMs, Math.max(1000, now - this.startedAt));
    return records / (seconds / 1000);
  }

  private projection(): Record<string, unknown> {
    const latest = this.latest;
    if (latest === undefined) return { centroids: [], points: [], variance: [0, 0] };
    const dim = latest.embeddingDim;
    const sample = this.sample.toArray();
    const rows = new Float32Array(sample.length * dim);
    sample.forEach((s, i) => rows.set(s.embedding, i * dim));
    // With no sample yet, the centroids alone define the axes.
    const model = pca2(sample.length > 0 ? rows : latest.centroids.data, dim);
    const points = project(rows, dim, model);
    const centroids = project(latest.centroids.data, dim, model);
    const round = (x: number): number => Math.round(x * 1e4) / 1e4;
    return {
      variance: model.variances.map(round),
      centroids: [...latest.centroids.ids].map((id, i) => ({
        id,
        size: round(latest.centroids.weights[i] ?? 0),
        x: round(centroids[i * 2] ?? 0),
        y: round(centroids[i * 2 + 1] ?? 0),
      })),
      points: sample.map((s, i) => ({
        cluster: s.cluster,
        x: round(points[i * 2] ?? 0),
        y: round(points[i * 2 + 1] ?? 0),
      })),
    };
  }
}

function toLiveEvent(e: LiveBatch['events'][number]): LiveEvent {
  const detector = e.detail['detector'];
  const cluster = e.detail['clusterId'];
  const incident = e.type === 'drift' && e.kind.startsWith('incident-') ? e.detail['id'] : null;
  return {
    t: e.at,
    type: e.type,
    kind: e.kind,
    detector: typeof detector === 'string' ? detector : null,
    cluster: typeof cluster === 'number' ? cluster : null,
    incident: typeof incident === 'number' ? incident : null,
    what:
      typeof incident === 'number'
        ? incidentWords(e.detail)
        : e.type === 'lifecycle'
          ? profileWords(e.detail['profile'])
          : null,
  };
}

/** `latency_ms 840 (rest 95, +3.1 sd), …`: what sets a new cluster apart, from its event. */
function profileWords(profile: unknown): string | null {
  const apart = (profile as { distinguishing?: unknown } | undefined)?.distinguishing;
  if (!Array.isArray(apart) || apart.length === 0) return null;
  return (
    apart as { feature?: unknown; mean?: unknown; restMean?: unknown; difference?: unknown }[]
  )
    .map((f) => {
      const d = typeof f.difference === 'number' ? f.difference : 0;
      return `${String(f.feature)} ${profileNumber(f.mean)} (rest ${profileNumber(f.restMean)}, ${d >= 0 ? '+' : ''}${d.toFixed(1)} sd)`;
    })
    .join(', ');
}

/** `major: latency_ms +1.20 sd, … (feature-ks, input-outliers)`. */
function incidentWords(detail: Record<string, unknown>): string {
  const features = Array.isArray(detail['features'])
    ? (detail['features'] as { name?: unknown; meanShift?: unknown }[])
        .map((f) =>
          typeof f.meanShift === 'number'
            ? `${String(f.name)} ${f.meanShift >= 0 ? '+' : ''}${f.meanShift.toFixed(2)} sd`
            : String(f.name),
        )
        .join(', ')
    : '';
  const detectors = Array.isArray(detail['detectors']) ? detail['detectors'].join(', ') : '';
  const level = typeof detail['level'] === 'string' ? `${detail['level']}: ` : '';
  return `${level}${features === '' ? 'no single feature' : features} (${detectors})`;
}

/** A small seeded generator: the sample is reproducible for a seeded stream. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
