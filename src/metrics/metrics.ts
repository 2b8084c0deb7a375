/**
 * Every metric streamclust exports is defined here and nowhere else (like kafkajs'
 * instrumentation events). Names follow prometheus.io: `streamclust_` prefix, base units
 * (seconds, bytes), `_total` on counters, and only low-cardinality labels: a reason code, a
 * stage, a loss part, never a record key.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { INPUT_DRIFT_TESTS } from '../drift/input-drift.js';
import { streamclustVersion } from '../version.js';

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Record latency includes time spent waiting in Kafka, so it reaches minutes when a group lags.
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Every (kind, detector) pair DriftMonitor can raise: exported at 0 before the first alarm. These
 * are the raw signals of the embedding and the store; incidents come from the input tests.
 */
export const DRIFT_EVENT_SERIES = [
  { kind: 'embedding-drift', detector: 'page-hinkley' },
  { kind: 'embedding-drift', detector: 'adwin' },
  { kind: 'assignment-drift', detector: 'assignment-psi' },
  { kind: 'assignment-drift', detector: 'assignment-js' },
] as const;

/** The centroid store's lifecycle event kinds: exported at 0 before the first event. */
export const LIFECYCLE_KINDS = ['born', 'split', 'merged', 'reseeded', 'died'] as const;

/** What the worker pool gauges read at scrape time (TrainerPool has both). */
export interface WorkerPoolGauges {
  readonly queueSize: number;
  readonly utilization: number;
}

export class Metrics {
  readonly registry = new Registry();

  readonly recordsConsumed = new Counter({
    name: 'streamclust_records_consumed_total',
    help: 'Records read from the source.',
    registers: [this.registry],
  });
  readonly recordsDecoded = new Counter({
    name: 'streamclust_records_decoded_total',
    help: 'Records decoded into feature vectors.',
    registers: [this.registry],
  });
  readonly recordsInvalid = new Counter({
    name: 'streamclust_records_invalid_total',
    help: 'Records that could not be decoded and went to the dead-letter sink, by reason code.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly recordsAssigned = new Counter({
    name: 'streamclust_records_assigned_total',
    help: 'Records assigned to a cluster and written to the assignments sink.',
    registers: [this.registry],
  });
  readonly batches = new Counter({
    name: 'streamclust_batches_total',
    help: 'Micro-batches processed.',
    registers: [this.registry],
  });
  readonly batchDuration = new Histogram({
    name: 'streamclust_batch_duration_seconds',
    help: 'Time from a micro-batch closing to its outputs being acknowledged by the sinks.',
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly stageDuration = new Histogram({
    name: 'streamclust_stage_duration_seconds',
    help: 'Time spent per batch in each pipeline stage.',
    labelNames: ['stage'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly loss = new Gauge({
    name: 'streamclust_loss',
    help: 'Value of each loss part at the last training step.',
    labelNames: ['part'] as const,
    registers: [this.registry],
  });
  readonly trainingSteps = new Counter({
    name: 'streamclust_training_steps_total',
    help: 'Optimiser steps taken by the embedding network.',
    registers: [this.registry],
  });
  readonly trainingStepsSkipped = new Counter({
    name: 'streamclust_training_steps_skipped_total',
    help: 'Replay steps the arriving records bought that background training dropped because it was behind the stream (training.schedule: background).',
    registers: [this.registry],
  });
  readonly modelVersion = new Gauge({
    name: 'streamclust_model_version',
    help: 'Number of updates applied to the embedding network.',
    registers: [this.registry],
  });
  readonly storeVersion = new Gauge({
    name: 'streamclust_store_version',
    help: 'Number of updates applied to the centroid store.',
    registers: [this.registry],
  });
  // A consumer group's shared state (sync.enabled, pipeline/group-sync.ts).
  readonly syncLeader = new Gauge({
    name: 'streamclust_sync_leader',
    help: "1 while this instance is its group's leader (it folds the others' records in and publishes the state), else 0.",
    registers: [this.registry],
  });
  readonly syncInstances = new Gauge({
    name: 'streamclust_sync_instances',
    help: 'Instances of the group heard from on the state topic within the last three sync intervals, this one included.',
    registers: [this.registry],
  });
  readonly syncGlobalEpoch = new Gauge({
    name: 'streamclust_sync_global_epoch',
    help: "Epoch of the newest global state published by the group's current leader term.",
    registers: [this.registry],
  });
  readonly syncLagVersions = new Gauge({
    name: 'streamclust_sync_lag_versions',
    help: 'Global state versions (epochs) published that this instance does not serve from yet.',
    registers: [this.registry],
  });
  readonly syncLagSeconds = new Gauge({
    name: 'streamclust_sync_lag_seconds',
    help: 'Age of the global state this instance serves from: how long ago its leader published it.',
    registers: [this.registry],
  });
  readonly syncPendingRecords = new Gauge({
    name: 'streamclust_sync_pending_records',
    help: "This instance's records that the global state it serves from does not hold yet.",
    registers: [this.registry],
  });
  readonly syncRoundDuration = new Histogram({
    name: 'streamclust_sync_round_duration_seconds',
    help: 'Duration of a sync round: folding, snapshotting and publishing (leader) or publishing a delta.',
    labelNames: ['role'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly syncPublishedBytes = new Counter({
    name: 'streamclust_sync_published_bytes_total',
    help: 'Bytes this instance published to the state topic, by message kind (global or delta).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly storeReady = new Gauge({
    name: 'streamclust_store_ready',
    help: '1 once the centroid store is initialised from its warm-up sample, else 0.',
    registers: [this.registry],
  });
  readonly clusters = new Gauge({
    name: 'streamclust_clusters',
    help: 'Number of clusters in the centroid store.',
    registers: [this.registry],
  });
  readonly recordsInFlight = new Gauge({
    name: 'streamclust_records_in_flight',
    help: 'Records read from the source and not yet acknowledged by the sinks.',
    registers: [this.registry],
  });
  readonly workerTensors = new Gauge({
    name: 'streamclust_worker_tensors',
    help: 'TensorFlow.js tensors alive in the trainer worker after its last step.',
    registers: [this.registry],
  });
  readonly workerRestarts = new Counter({
    name: 'streamclust_worker_restarts_total',
    help: 'Trainer workers replaced after they threw or died, since start.',
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'streamclust_build_info',
    help: 'The streamclust version and the Node.js runtime of this process (value 1).',
    labelNames: ['version', 'node'] as const,
    registers: [this.registry],
  });
  readonly backendInfo = new Gauge({
    name: 'streamclust_backend_info',
    help: 'The TensorFlow.js backend in use (value 1).',
    labelNames: ['backend', 'provider', 'gpu'] as const,
    registers: [this.registry],
  });

  readonly miningTriplets = new Gauge({
    name: 'streamclust_mining_triplets',
    help: 'Triplets (or pairs) the miner found, and of those the active ones (non-zero loss), at the last training step.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly miningDroppedRatio = new Gauge({
    name: 'streamclust_mining_anchors_dropped_ratio',
    help: 'Share of anchors the miner dropped (no positive or no negative) at the last training step.',
    registers: [this.registry],
  });
  readonly lifecycleEvents = new Counter({
    name: 'streamclust_cluster_lifecycle_events_total',
    help: 'Cluster lifecycle events of the centroid store, by kind (born, split, merged, reseeded, died).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly driftEvents = new Counter({
    name: 'streamclust_drift_events_total',
    help: 'Raw alarms of the embedding and assignment detectors, by kind and detector (signals, not incidents: they also fire when the network trains).',
    labelNames: ['kind', 'detector'] as const,
    registers: [this.registry],
  });
  readonly driftReferenceReady = new Gauge({
    name: 'streamclust_drift_reference_ready',
    help: 'Whether the drift monitor has its reference window (1) or is still filling it (0); until then the drift statistics are NaN, never 0.',
    registers: [this.registry],
  });
  readonly centroidDisplacement = new Gauge({
    name: 'streamclust_centroid_displacement',
    help: 'Centroid movement at the last update, in embedding units: mean and max over clusters, and the mean distance from the reference centroids.',
    labelNames: ['statistic'] as const,
    registers: [this.registry],
  });
  readonly assignmentPsi = new Gauge({
    name: 'streamclust_assignment_psi',
    help: 'Population stability index of the assignment distribution, current window against the reference window.',
    registers: [this.registry],
  });
  readonly assignmentJs = new Gauge({
    name: 'streamclust_assignment_js_divergence',
    help: 'Jensen-Shannon divergence (base 2, so 0..1) of the assignment distribution, current window against the reference window.',
    registers: [this.registry],
  });
  readonly distanceEwma = new Gauge({
    name: 'streamclust_assignment_distance_ewma',
    help: 'Exponentially weighted mean distance of records to their assigned centroid, in embedding units.',
    registers: [this.registry],
  });
  readonly outlierRatio = new Gauge({
    name: 'streamclust_outlier_ratio',
    help: 'Share of the current window farther from its centroid than the reference outlier quantile.',
    registers: [this.registry],
  });
  readonly clusterEntropy = new Gauge({
    name: 'streamclust_cluster_size_entropy_ratio',
    help: 'Normalised entropy of the cluster sizes in the current window (1 = even, 0 = one cluster).',
    registers: [this.registry],
  });
  readonly nearEmptyClusters = new Gauge({
    name: 'streamclust_near_empty_clusters',
    help: 'Clusters holding a negligible share of the current window.',
    registers: [this.registry],
  });
  readonly driftIncidents = new Counter({
    name: 'streamclust_drift_incidents_total',
    help: 'Drift incidents opened (one per change in the inputs, however often it is detected), by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly driftIncidentOpen = new Gauge({
    name: 'streamclust_drift_incident_open',
    help: 'Whether a drift incident is open (1) or not (0).',
    registers: [this.registry],
  });
  readonly inputDrift = new Gauge({
    name: 'streamclust_input_drift_severity',
    help: 'Each input-drift test at its last check, as statistic / critical value (above 1 is drift), on the raw features: feature-ks (the worst feature), prototype-shares, prototype-distance, input-outliers. NaN until the reference is complete.',
    labelNames: ['test'] as const,
    registers: [this.registry],
  });
  readonly driftInputReferenceReady = new Gauge({
    name: 'streamclust_input_drift_reference_ready',
    help: 'Whether the input-drift tests have their reference (1) or are filling it (0): after the start and after each detection.',
    registers: [this.registry],
  });

  readonly learningRate = new Gauge({
    name: 'streamclust_learning_rate',
    help: 'Learning rate of the embedding network optimiser (model.learningRate).',
    registers: [this.registry],
  });
  readonly clusterSize = new Gauge({
    name: 'streamclust_cluster_size',
    help: 'Weight (decayed record count) of each cluster after the last update; exported only while the store has at most http.perClusterSeriesMaxK clusters.',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly clusterSizeDistribution = new Gauge({
    name: 'streamclust_cluster_size_distribution',
    help: 'Cluster weights after the last update at any k: min, p25, median, p75, p90 and max over clusters.',
    labelNames: ['statistic'] as const,
    registers: [this.registry],
  });
  readonly recordLatency = new Histogram({
    name: 'streamclust_record_latency_seconds',
    help: 'Time from a record timestamp (Kafka record time, or creation for the demo stream) to its assignment.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'streamclust_consumer_lag_records',
    help: 'Records of the input topic the consumer group has not committed yet, per partition (Kafka source only).',
    labelNames: ['partition'] as const,
    registers: [this.registry],
  });
  readonly consumerLagPollErrors = new Counter({
    name: 'streamclust_consumer_lag_poll_errors_total',
    help: 'Failed attempts to read the group and topic offsets for streamclust_consumer_lag_records.',
    registers: [this.registry],
  });
  private workerPool: WorkerPoolGauges | undefined;
  readonly workerQueue = new Gauge({
    name: 'streamclust_worker_queued_tasks',
    help: 'Batches waiting for a trainer worker thread.',
    registers: [this.registry],
    collect: () => {
      if (this.workerPool !== undefined) this.workerQueue.set(this.workerPool.queueSize);
    },
  });
  readonly workerUtilization = new Gauge({
    name: 'streamclust_worker_utilization_ratio',
    help: 'Share of its lifetime the trainer worker pool spent running tasks (0..1).',
    registers: [this.registry],
    collect: () => {
      if (this.workerPool !== undefined) this.workerUtilization.set(this.workerPool.utilization);
    },
  });
  private lastCheckpointMs: number | undefined;
  // Registered on the first checkpoint only: an unlabelled gauge would otherwise read 0, which
  // says "checkpointed just now" when no checkpoint exists at all.
  readonly checkpointAge = new Gauge({
    name: 'streamclust_checkpoint_age_seconds',
    help: 'Seconds since the last checkpoint was written; absent until the first one.',
    registers: [],
    collect: () => {
      if (this.lastCheckpointMs !== undefined)
        this.checkpointAge.set((Date.now() - this.lastCheckpointMs) / 1000);
    },
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names three gauges with a counter's `_total` suffix, which promtool check
      // metrics rejects; the same counts remain by type in nodejs_active_{handles,requests,resources}.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ])
        this.registry.removeSingleMetric(name);
    }
    this.buildInfo.set({ version: streamclustVersion(), node: process.version }, 1);
    // Counters that exist at 0 from the start let increase() and rate() see the first event.
    for (const labels of DRIFT_EVENT_SERIES) this.driftEvents.inc(labels, 0);
    for (const kind of LIFECYCLE_KINDS) this.lifecycleEvents.inc({ kind }, 0);
    // A drift statistic without a reference has no value: NaN, not a 0 that would read as "no
    // drift" (PSI, JS) or "one cluster" (entropy).
    this.driftReferenceReady.set(0);
    this.driftInputReferenceReady.set(0);
    this.driftIncidentOpen.set(0);
    this.driftIncidents.inc({ kind: 'input-drift' }, 0);
    for (const test of INPUT_DRIFT_TESTS) this.inputDrift.set({ test }, Number.NaN);
    for (const gauge of [
      this.assignmentPsi,
      this.assignmentJs,
      this.distanceEwma,
      this.outlierRatio,
      this.clusterEntropy,
      this.nearEmptyClusters,
    ])
      gauge.set(Number.NaN);
  }

  /** Read the worker pool's queue and utilisation at every scrape. */
  observeWorkerPool(pool: WorkerPoolGauges | undefined): void {
    this.workerPool = pool;
  }

  /** A checkpoint was written (wall-clock milliseconds); streamclust_checkpoint_age_seconds starts. */
  markCheckpoint(atMs: number = Date.now()): void {
    if (this.lastCheckpointMs === undefined) this.registry.registerMetric(this.checkpointAge);
    this.lastCheckpointMs = atMs;
  }
}
