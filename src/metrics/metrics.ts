/**
 * Every metric streamclust exports is defined here and nowhere else (like kafkajs'
 * instrumentation events). Names follow prometheus.io: `streamclust_` prefix, base units
 * (seconds, bytes), `_total` on counters, and only low-cardinality labels: a reason code, a
 * stage, a loss part, never a record key.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
  readonly backendInfo = new Gauge({
    name: 'streamclust_backend_info',
    help: 'The TensorFlow.js backend in use (value 1).',
    labelNames: ['backend', 'provider', 'gpu'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
