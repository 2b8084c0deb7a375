/**
 * Several `streamclust run` processes in one consumer group with sync.enabled (group-sync.ts),
 * and what the group tests ask each of them over HTTP: its state (/clusters) and the cluster
 * ids it gives a held-out sample (POST /assign).
 */
import { DriftingMixture } from '../../src/sources/drifting-mixture.js';
import { nmi } from '../../src/eval/metrics/nmi.js';
import { startCli, type CliProcess } from './cli-process.js';
import { kafkaRunArgs, waitForHttpUrl, type PipelineTopics } from './fault-records.js';
import { waitFor, type ProducedRecord } from './kafka.js';

export interface GroupStatus {
  instance: string;
  leader: boolean;
  term: number;
  epoch: number | null;
  servedFrom: string | null;
  pendingRecords: number;
}

export interface ClustersJson {
  ready: boolean;
  group?: GroupStatus;
  storeVersion: number;
  clusters: { id: number; weight: number; centroid: number[] }[];
}

export interface Instance {
  cli: CliProcess;
  url: string;
}

/**
 * A seeded 8-dimensional mixture of 5 overlapping clusters (NMI of a good clustering about
 * 0.8, not 1, so that a worse one shows): `count` records to produce, `heldOut` kept back.
 */
export function groupMixture(count: number, heldOut: number, seed: number) {
  const mixture = new DriftingMixture({
    seed,
    dim: 8,
    clusters: 5,
    spread: 1,
    separation: 2.5,
    driftEveryRecords: 0,
  });
  const records: ProducedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const p = mixture.next();
    records.push({
      key: `r-${i}`,
      value: JSON.stringify({ features: p.features, label: p.label }),
    });
  }
  const sample: { features: number[]; label: number }[] = [];
  for (let i = 0; i < heldOut; i++) {
    const p = mixture.next();
    sample.push({ features: [...p.features], label: p.label });
  }
  return { records, sample };
}

export function groupArgs(
  brokers: string,
  topics: PipelineTopics,
  sync: boolean,
  intervalMs: number,
  extra: readonly string[] = [],
): string[] {
  return kafkaRunArgs(brokers, topics, [
    '--k',
    '5',
    '--batch-size',
    '256',
    '--set',
    `sync.enabled=${sync}`,
    '--set',
    `sync.intervalMs=${intervalMs}`,
    '--set',
    'cluster.warmupSize=1000',
    '--set',
    'kafka.sessionTimeoutMs=10000',
    '--set',
    'log.statusIntervalMs=0',
    ...extra,
  ]);
}

export async function startInstance(args: readonly string[]): Promise<Instance> {
  const cli = startCli(args);
  const url = await waitForHttpUrl(cli, 120_000);
  return { cli, url };
}

export async function clustersOf(instance: Instance): Promise<ClustersJson> {
  const response = await fetch(`${instance.url}/clusters`);
  return (await response.json()) as ClustersJson;
}

/** The cluster ids an instance gives the sample now (POST /assign). */
export async function assignSample(
  instance: Instance,
  sample: readonly { features: number[] }[],
): Promise<number[]> {
  const response = await fetch(`${instance.url}/assign`, {
    method: 'POST',
    body: JSON.stringify(sample.map((s) => ({ features: s.features }))),
  });
  if (!response.ok) throw new Error(`POST /assign: ${response.status} ${await response.text()}`);
  const results = (await response.json()) as ({ clusterId: number } | { error: string })[];
  return results.map((r) => {
    if ('error' in r) throw new Error(`POST /assign refused a sample record: ${r.error}`);
    return r.clusterId;
  });
}

/** The share of records two assignments give the same id. */
export function agreement(a: readonly number[], b: readonly number[]): number {
  let same = 0;
  a.forEach((id, i) => (same += id === b[i] ? 1 : 0));
  return same / a.length;
}

export function nmiOf(ids: readonly number[], sample: readonly { label: number }[]): number {
  return nmi(
    sample.map((s) => s.label),
    [...ids],
  );
}

/**
 * Each cluster's mean in input units over the sample's records it was given: a comparison of
 * centroids that holds across runs whose networks (and so embedding spaces) differ.
 */
export function inputMeans(
  ids: readonly number[],
  sample: readonly { features: number[] }[],
): Map<number, number[]> {
  const sums = new Map<number, { sum: number[]; n: number }>();
  ids.forEach((id, i) => {
    const f = sample[i]!.features;
    const s = sums.get(id) ?? { sum: f.map(() => 0), n: 0 };
    f.forEach((v, d) => (s.sum[d]! += v));
    s.n += 1;
    sums.set(id, s);
  });
  return new Map([...sums].map(([id, s]) => [id, s.sum.map((v) => v / s.n)]));
}

/** Largest distance from each mean of `a` to the nearest mean of `b` (both ways). */
export function meansDistance(a: Map<number, number[]>, b: Map<number, number[]>): number {
  const nearest = (x: number[], ys: Map<number, number[]>): number =>
    Math.min(...[...ys.values()].map((y) => Math.hypot(...x.map((v, d) => v - y[d]!))));
  return Math.max(
    ...[...a.values()].map((x) => nearest(x, b)),
    ...[...b.values()].map((y) => nearest(y, a)),
  );
}

/** Largest coordinate difference between two stores' centroids, matched by id. */
export function centroidGap(a: ClustersJson, b: ClustersJson): number {
  const byId = new Map(b.clusters.map((c) => [c.id, c.centroid]));
  let gap = 0;
  for (const c of a.clusters) {
    const other = byId.get(c.id);
    if (other === undefined) return Infinity;
    c.centroid.forEach((v, d) => (gap = Math.max(gap, Math.abs(v - other[d]!))));
  }
  return a.clusters.length === b.clusters.length ? gap : Infinity;
}

/**
 * Waits until every instance serves from the same global state and holds no records of its own
 * outside it, twice in a row (the group is quiet: nothing left to fold or publish).
 */
export async function waitForGroupAgreement(
  instances: readonly Instance[],
  timeoutMs: number,
): Promise<ClustersJson[]> {
  let previous = '';
  let last: ClustersJson[] = [];
  return waitFor(
    async () => {
      last = await Promise.all(instances.map(clustersOf));
      const groups = last.map((c) => c.group);
      if (groups.some((g) => g === undefined || g.epoch === null || g.pendingRecords > 0))
        return undefined;
      const key = JSON.stringify(groups.map((g) => [g!.servedFrom, g!.term, g!.epoch]));
      const same = new Set(groups.map((g) => `${g!.servedFrom}/${g!.term}/${g!.epoch}`)).size === 1;
      const stable = same && key === previous;
      previous = key;
      return stable ? last : undefined;
    },
    {
      timeoutMs,
      intervalMs: 1_500,
      message: () =>
        `the instances did not come to serve from one state; last: ${JSON.stringify(last.map((c) => c.group))}`,
    },
  );
}
