/**
 * The store's side of a batch: assigns its embedded records (updating the store unless it is
 * frozen), flags each record that lies beyond its cluster's recent distance quantile, adds the
 * raw features to the cluster profiles, turns the store's lifecycle changes into events, feeds
 * the drift monitor and builds
 * the report the observers (metrics, live view, evaluation) receive, with the drift incidents
 * (drift-watch.ts) opened or closed since the batch before. Runs on the main thread,
 * one batch at a time and in input order, because the store's updates are what makes a seeded
 * run reproducible.
 */
import { ClusterProfiles, summarizeProfile } from '../cluster/cluster-profiles.js';
import { DistanceQuantiles } from '../cluster/distance-quantiles.js';
import type { LifecycleEvent, OnlineKMeans } from '../cluster/online-k-means.js';
import type { Config } from '../config/schema.js';
import { DriftMonitor, type DriftReport } from '../drift/drift-monitor.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Assignment, StreamEvent } from '../sinks/sink.js';
import type { BatchReport } from './batch-report.js';
import { publishDrift } from './drift-metrics.js';
import type { DriftWatch } from './drift-watch.js';
import type { EmbeddedBatch } from './warm-up.js';

export class BatchAssigner {
  private readonly deps: {
    config: Config;
    logger: Logger;
    metrics: Metrics;
    driftWatch: DriftWatch;
  };
  private readonly drift: DriftMonitor | undefined;
  private readonly outliers: DistanceQuantiles;
  /** Per-cluster profiles in input units; created with the first batch that carries raw features. */
  profiles: ClusterProfiles | undefined;
  /** The drift statistics of the last batch, once the monitor has seen one. */
  lastDrift: DriftReport | undefined;

  constructor(deps: { config: Config; logger: Logger; metrics: Metrics; driftWatch: DriftWatch }) {
    this.deps = deps;
    this.drift = deps.config.drift.enabled ? new DriftMonitor(deps.config.drift) : undefined;
    this.outliers = new DistanceQuantiles({ quantile: deps.config.cluster.outlierQuantile });
  }

  /** Assigns one batch and updates the store and the drift monitor with it. */
  assign(
    store: OnlineKMeans,
    batch: EmbeddedBatch,
    inputDim: number,
  ): { assignments: Assignment[]; report: BatchReport } {
    const before = this.drift === undefined ? undefined : store.centroids();
    const update = this.deps.config.cluster.frozen
      ? { ...store.assign(batch.embeddings), events: [] }
      : store.update(batch.embeddings, {
          eventTimeMs: batch.records[0]?.timestamp ?? Date.now(),
        });
    const { clusterIds, distances } = update;
    const storeVersion = store.version;
    const outliers = this.outliers.flag(clusterIds, distances);
    // After a birth or a split the batch is profiled against the clusters as they now are, so
    // that the new cluster's event can say what it holds: the records of this batch nearest it.
    const reshaped = update.events.some((e) => e.kind === 'born' || e.kind === 'split');
    this.profile(
      batch,
      reshaped ? store.assign(batch.embeddings).clusterIds : clusterIds,
      inputDim,
      update.events.length > 0 ? store : undefined,
    );
    const assignments = batch.records.map((record, i) => ({
      record,
      clusterId: clusterIds[i] as number,
      distance: distances[i] as number,
      outlier: outliers[i] === 1,
      modelVersion: batch.modelVersion,
      storeVersion,
    }));
    const events: StreamEvent[] = update.events.map((e) => this.lifecycleEvent(e));
    const after = store.centroids();
    let drift: DriftReport | undefined;
    const watch = this.deps.driftWatch;
    if (this.drift !== undefined && before !== undefined) {
      watch.renewAfterClose(this.drift);
      drift = this.drift.observe({
        clusterIds,
        distances,
        centroids: { before, after },
        modelVersion: batch.modelVersion,
      });
      this.lastDrift = drift;
      publishDrift(drift, this.deps.metrics, this.deps.logger);
      watch.onSignals(drift, this.drift, batch.modelVersion, update.events.length);
    }
    // Incidents opened or closed since the last assigned batch go out with this one.
    events.push(...watch.takeEvents());
    const report: BatchReport = {
      at: Date.now(),
      records: batch.records,
      labels: batch.labels,
      features: batch.features,
      inputDim,
      embeddings: batch.embeddings,
      embeddingDim: store.dim,
      clusterIds,
      distances,
      centroids: after,
      drift,
      inputDrift: watch.lastSeverity,
      events,
      modelVersion: batch.modelVersion,
      storeVersion,
      losses: batch.losses,
    };
    return { assignments, report };
  }

  /** Adds the batch's raw features to the profiles; after lifecycle events, drops gone clusters. */
  private profile(
    batch: EmbeddedBatch,
    clusterIds: Int32Array,
    inputDim: number,
    changed: OnlineKMeans | undefined,
  ): void {
    const { raw } = batch;
    if (raw === undefined || inputDim < 1 || raw.length !== clusterIds.length * inputDim) return;
    if (this.profiles?.dim !== inputDim) {
      const { fields, vectorField } = this.deps.config.decode;
      const names =
        fields.length === inputDim
          ? fields
          : Array.from({ length: inputDim }, (_, t) => `${vectorField}[${t}]`);
      this.profiles = new ClusterProfiles(inputDim, names);
    }
    this.profiles.update(clusterIds, raw, batch.records);
    if (changed !== undefined) this.profiles.retain(changed.centroids().ids);
  }

  private lifecycleEvent(e: LifecycleEvent): StreamEvent {
    this.deps.metrics.lifecycleEvents.inc({ kind: e.kind });
    // A cluster that is born or split off says what it holds: its profile after this batch,
    // the batch's records being its first (the profiles were updated before the events).
    const profile =
      e.kind === 'born' || e.kind === 'split' ? this.profiles?.profile(e.clusterId) : undefined;
    const summary = profile === undefined ? undefined : summarizeProfile(profile);
    if (e.kind !== 'born' || e.batch > 0) {
      this.deps.logger.info(`cluster ${e.kind}`, {
        cluster: e.clusterId,
        related: e.relatedId,
        reason: e.reason,
        ...(summary === undefined
          ? {}
          : { apart: summary.distinguishing.map((f) => f.feature).join(', ') }),
      });
    }
    return {
      type: 'lifecycle',
      kind: e.kind,
      detail: { ...e, ...(summary === undefined ? {} : { profile: summary }) },
      at: Date.now(),
    };
  }
}
