/**
 * The one place the stages are composed:
 *
 *   source chunks ─► fetchedBatches(size, maxWait) ─► BatchProcessor (decode, worker,
 *   store, sinks) ─► settle ─► the source commits
 *
 * Three batches are in the processor at once: one decoded and embedded, the one before it
 * assigned and its write issued, and the one before that awaiting its acknowledgement (see
 * BatchProcessor.process); each stage takes them one at a time, in order.
 *
 * Nothing reaches back upstream except the settling of records, which is what lets a source
 * commit or read further.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';

import { Kafka } from 'kafkajs';
import { Subject, from, map, mergeMap, tap, type Subscription } from 'rxjs';

import { summarizeProfile, type ClusterProfile } from '../cluster/cluster-profiles.js';
import type { Config } from '../config/schema.js';
import { describeRefusal, protocolType, RefusedError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { BatchMetricsObserver } from '../metrics/batch-metrics-observer.js';
import { ConsumerLagMonitor } from '../metrics/consumer-lag-monitor.js';
import { startHttpServer, type Readiness, type RunningHttpServer } from '../metrics/http-server.js';
import { LiveViewState } from '../metrics/live-view-state.js';
import { Metrics } from '../metrics/metrics.js';
import { describeChoice } from '../model/backend.js';
import { intraOpThreadsFor, TrainerPool } from '../model/trainer-pool.js';
import { createJsonlSink } from '../sinks/jsonl-sink.js';
import { createKafkaSink } from '../sinks/kafka-sink.js';
import { createKafkaSinkThread } from '../sinks/kafka-sink-thread.js';
import { assignmentOrigin, type Sink } from '../sinks/sink.js';
import { resolveFileSource } from '../sources/csv-file.js';
import { createFileSource } from '../sources/file-source.js';
import { httpAuthToken } from '../kafka/security.js';
import { kafkaClientConfig, missingInputTopic } from '../kafka/client.js';
import { createKafkaSource } from '../sources/kafka-source.js';
import type { Source } from '../sources/source.js';
import { createSyntheticSource } from '../sources/synthetic-source.js';
import { BatchProcessor, type ProcessorStatus } from './batch-processor.js';
import type { PipelineObserver } from './batch-report.js';
import type { ModelState } from '../model/model-state.js';
import {
  CheckpointError,
  readCheckpoint,
  type CheckpointFile,
  type SourceOffset,
} from '../state/checkpoint.js';
import { stateDifferences, stateDigest, stateSettings } from '../state/checkpointer.js';
import { fetchedBatches } from './micro-batch.js';
import { assignmentsTarget, openWithRetry } from './open-sink.js';
import { embedsApart } from './online-learner.js';
import { GroupSync } from './group-sync.js';

export interface PipelineOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** Replace the configured source or sink (tests, embedding in another program). */
  source?: Source;
  sink?: Sink;
  /** Receive a report after every assigned batch (live view, evaluation, tests). */
  observers?: readonly PipelineObserver[];
}

/**
 * Batches in the processor at once: one decoded and embedded, one assigned and its write
 * issued, one awaiting its acknowledgement.
 */
const BATCHES_IN_FLIGHT = 3;

export interface PipelineStatus extends ProcessorStatus {
  recordsConsumed: number;
  recordsInFlight: number;
  backend: string | undefined;
  uptimeSeconds: number;
}

export interface Pipeline {
  readonly config: Config;
  readonly metrics: Metrics;
  /** Runs until a bounded source is exhausted or stop() was called and everything drained. */
  run(): Promise<void>;
  /** Stops reading; in-flight records are still written and committed before run() resolves. */
  stop(): Promise<void>;
  status(): PipelineStatus;
  readiness(): Readiness;
  clusters(): unknown;
  /** Each cluster's profile in input units, for the clusters that have one. */
  profiles(): { id: number; profile: ClusterProfile }[];
  /** The HTTP server's address once run() started it. */
  readonly httpUrl: string | undefined;
  /** The trainer workers, once the first batch started them (operations and fault tests). */
  readonly trainer: TrainerPool | undefined;
  /** Assigns records with the current state, changing nothing (POST /assign). */
  assign(values: readonly Buffer[]): ReturnType<BatchProcessor['assignValues']>;
}

export async function createPipeline(
  given: Config,
  options: PipelineOptions = {},
): Promise<Pipeline> {
  // A file source's file is checked, and a CSV's columns become decode.fields (all but the label
  // unless named).
  const config = resolveFileSource(given);
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = options.metrics ?? new Metrics();
  metrics.learningRate.set(config.model.learningRate);
  const authToken = httpAuthToken(config.http);
  const resume = config.checkpoint.resume ? await loadResume(config, logger) : undefined;
  // Every assignment names the process that wrote it: the instance, and a run id drawn now.
  const instance = config.sinks.instanceId === '' ? hostname() : config.sinks.instanceId;
  const runId = randomBytes(4).toString('hex');
  const sync = config.sync.enabled
    ? new GroupSync({
        config,
        logger,
        metrics,
        instance: `${instance}-${runId}`,
        configDigest: stateDigest(config),
      })
    : undefined;
  const source =
    options.source ??
    createSource(config, logger, resume?.offsets ?? [], (partitions) =>
      sync?.onAssignment(partitions),
    );
  // The configured sink is opened by run(), after the HTTP server is up: a broker that is away
  // at start then shows on /readyz instead of as connection refused.
  let opened: Promise<Sink> | undefined =
    options.sink === undefined ? undefined : Promise.resolve(options.sink);
  let connecting: string | undefined;
  const origin = assignmentOrigin(instance, runId);
  logger.info('every assignment names this process', { instance, run: runId });
  const openSink = (): Promise<Sink> =>
    (opened ??= openWithRetry(
      () => createSink(config, logger, origin),
      config,
      logger,
      (why) => (connecting = why),
    ));
  const sink: Sink = {
    write: async (output) => (await openSink()).write(output),
    close: async () => {
      const open = await opened?.catch(() => undefined);
      await open?.close();
    },
  };
  let backend: string | undefined;
  let trainer: TrainerPool | undefined;
  const startTrainer = async (inputDim: number, state?: ModelState): Promise<TrainerPool> => {
    const embedder = embedsApart(config);
    const intraOpThreads = intraOpThreadsFor(
      config.model.intraOpThreads,
      availableParallelism(),
      config.model.workers + (embedder ? 1 : 0),
    );
    const { pool, init } = await TrainerPool.start({
      backend: config.model.backend,
      model: { ...config.model, inputDim },
      losses: config.losses,
      workers: config.model.workers,
      embedder,
      intraOpThreads,
      logger,
      ...(state === undefined ? {} : { state }),
    });
    backend = init.backend.name;
    metrics.observeWorkerPool(pool);
    metrics.backendInfo.set(
      {
        backend: init.backend.name,
        provider: init.backend.provider,
        gpu: String(init.backend.gpu),
      },
      1,
    );
    logger.info(describeChoice(init.backend), {
      inputDim,
      parameters: init.parameterCount,
      workers: pool.replicaCount,
      embedder: pool.hasEmbedder,
      // TrainerPool.start set it unless it was set already (or 0: TensorFlow's default).
      ...(init.backend.name === 'tensorflow'
        ? { intraOpThreads: process.env['TF_NUM_INTRAOP_THREADS'] ?? 'one per core' }
        : {}),
    });
    trainer = pool;
    return pool;
  };
  const liveView = config.http.liveView ? new LiveViewState() : undefined;
  const observers: PipelineObserver[] = [
    new BatchMetricsObserver(metrics, config.http.perClusterSeriesMaxK),
    // Checkpoints are written (or resumed from) between batches: the age counts from the last.
    {
      onBatch: () => {
        const at = processor.status().lastCheckpointAt;
        if (at !== undefined) metrics.markCheckpoint(at);
      },
    },
    ...(liveView === undefined ? [] : [liveView]),
    ...(options.observers ?? []),
  ];
  const processor = new BatchProcessor({
    config,
    logger,
    metrics,
    sink,
    startTrainer,
    observers,
    ...(resume === undefined ? {} : { resume }),
    ...(sync === undefined ? {} : { group: sync }),
  });
  const started = Date.now();
  let consumed = 0;
  let http: RunningHttpServer | undefined;
  let subscription: Subscription | undefined;

  const status = (): PipelineStatus => {
    const s = processor.status();
    return {
      ...s,
      recordsConsumed: consumed,
      recordsInFlight: consumed - s.recordsAssigned - s.recordsInvalid,
      backend,
      uptimeSeconds: (Date.now() - started) / 1000,
    };
  };
  // Set when the pipeline stops on an error: /healthz and /readyz say so while it closes.
  let failure: string | undefined;
  let topicMissingSince: number | undefined;
  let abortRun: ((error: unknown) => void) | undefined;
  const readiness = (): Readiness => {
    const reasons: string[] = failure === undefined ? [] : [`stopping: ${failure}`];
    if (connecting !== undefined) reasons.push(connecting);
    if (topicMissingSince !== undefined)
      reasons.push(
        `the input topic ${config.kafka.inputTopic} does not exist (for ${Math.round((Date.now() - topicMissingSince) / 1000)} s)`,
      );
    const s = processor.status();
    if (!s.storeReady)
      reasons.push(`centroid store warming up (${s.warmup.seen}/${s.warmup.needed} records)`);
    if (!source.healthy()) reasons.push(`${source.kind} source is not connected`);
    if (s.sinkFailure !== undefined) reasons.push(`sinks unavailable, retrying: ${s.sinkFailure}`);
    return { ready: reasons.length === 0, reasons };
  };
  const clusters = (): unknown => {
    const s = processor.status();
    if (!s.storeReady) return { ready: false, warmup: s.warmup };
    const c = processor.store.centroids();
    const dim = processor.store.dim;
    const byId = processor.profiles();
    return {
      ready: true,
      ...(sync === undefined ? {} : { group: sync.status() }),
      storeVersion: s.storeVersion,
      modelVersion: s.modelVersion,
      drift: processor.lastDriftReport ?? null,
      clusters: [...c.ids].map((id, i) => ({
        id,
        weight: c.weights[i],
        centroid: [...c.data.subarray(i * dim, (i + 1) * dim)],
        // In input units: its share, each feature's mean and spread, what sets it apart.
        profile: byId.get(id) ?? null,
      })),
    };
  };

  const profiles = (): { id: number; profile: ClusterProfile }[] => {
    if (!processor.store.ready) return [];
    const byId = processor.profiles();
    return [...processor.store.centroids().ids].flatMap((id) => {
      const profile = byId.get(id);
      return profile === undefined ? [] : [{ id, profile }];
    });
  };

  const run = async (): Promise<void> => {
    if (config.http.enabled) {
      http = await startHttpServer(config.http.host, config.http.port, {
        registry: metrics.registry,
        readiness,
        failure: () => failure,
        clusters,
        assign: (values) => processor.assignValues(values),
        ...(liveView === undefined
          ? {}
          : {
              live: () =>
                liveView.snapshot({
                  backend:
                    config.model.kind === 'none' ? 'none: clusters the scaled input' : backend,
                  ...(sync === undefined ? {} : { group: sync.status() }),
                  profiles: profiles().map(({ id, profile }) => ({
                    id,
                    ...summarizeProfile(profile),
                  })),
                }),
            }),
        ...(authToken === undefined ? {} : { authToken }),
      });
      logger.info('serving /metrics, /healthz, /readyz, /clusters and the live view at /', {
        url: http.url,
      });
    }
    // Lag is only meaningful for the group this pipeline commits for: not for a replaced source.
    const lag =
      config.source === 'kafka' && options.source === undefined && config.kafka.lagIntervalMs > 0
        ? new ConsumerLagMonitor({
            admin: new Kafka(kafkaClientConfig(config.kafka, logger)).admin(),
            metrics,
            groupId: config.kafka.groupId,
            topic: config.kafka.inputTopic,
            intervalMs: config.kafka.lagIntervalMs,
            onError: (error) => {
              logger.debug('reading consumer lag failed', { error: String(error) });
              if (protocolType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') inputTopicMissing();
            },
            onPoll: () => (topicMissingSince = undefined),
          })
        : undefined;
    // The lag monitor's polls see an input topic that was deleted (the consumer only retries
    // and warns): say so on /readyz, and stop after kafka.missingTopicTimeoutMs.
    const inputTopicMissing = (): void => {
      topicMissingSince ??= Date.now();
      const missingMs = Date.now() - topicMissingSince;
      if (missingMs < config.kafka.missingTopicTimeoutMs) return;
      abortRun?.(
        new RefusedError(
          `the input topic ${config.kafka.inputTopic} has not existed for ${Math.round(missingMs / 1000)} s ` +
            `(kafka.missingTopicTimeoutMs ${config.kafka.missingTopicTimeoutMs} ms). Fix: recreate it, or point kafka.inputTopic at the right one`,
        ),
      );
    };
    let batchesInFlight = 0;
    const batchDone = new Subject<void>();
    try {
      await openSink();
      if (config.source === 'kafka' && options.source === undefined) {
        // Said at once, not when kafka.missingTopicTimeoutMs runs out; /readyz says it too,
        // and the lag monitor's polls clear it when the topic appears (or stop the run).
        const missing = await missingInputTopic(config.kafka, logger).catch((error: unknown) => {
          logger.debug('could not list the topics', { error: String(error) });
          return undefined;
        });
        if (missing !== undefined) {
          logger.warn(missing);
          if (lag !== undefined) topicMissingSince = Date.now();
        }
      }
      // The group's state is read to its end before the first record: a new or restarted
      // instance serves from it instead of starting from scratch.
      await sync?.start(processor);
      lag?.start();
      await new Promise<void>((resolve, reject) => {
        abortRun = reject;
        subscription = source.chunks
          .pipe(
            tap((chunk) => {
              consumed += chunk.records.length;
              metrics.recordsConsumed.inc(chunk.records.length);
            }),
            map((chunk) => chunk.records),
            fetchedBatches(config.batch.size, config.batch.maxWaitMs, {
              canTake: () => batchesInFlight < BATCHES_IN_FLIGHT,
              taken: batchDone,
            }),
            // BATCHES_IN_FLIGHT batches at once, one in each stage of the processor.
            mergeMap((batch) => {
              batchesInFlight += 1;
              return from(
                processor.process(batch).finally(() => {
                  batchesInFlight -= 1;
                  batchDone.next();
                }),
              );
            }, BATCHES_IN_FLIGHT),
          )
          .subscribe({ error: reject, complete: resolve });
      });
      await processor.finish();
      // What this instance's last records added is published before it leaves the group.
      await sync?.stop();
    } catch (error) {
      // Said before the clean-up, which talks to the broker and may itself wait: the reason the
      // pipeline stopped must never hide behind a close that hangs.
      failure = describeRefusal(error) ?? String(error);
      logger.error('the pipeline stopped on an error; closing its sources and sinks', {
        error: failure,
        records: 'not committed: they are read again after a restart',
      });
      throw error;
    } finally {
      subscription?.unsubscribe();
      // Its poll may be inside kafkajs' connection retries (a minute) when the broker is away.
      if (lag !== undefined)
        await closeWithin(CLOSE_TIMEOUT_MS, 'the lag monitor', () => lag.stop(), logger);
      if (sync !== undefined)
        await closeWithin(CLOSE_TIMEOUT_MS, 'the state topic', () => sync.stop(), logger);
      await processor.close();
      await closeWithin(CLOSE_TIMEOUT_MS, 'the sinks', () => sink.close(), logger);
      await closeWithin(CLOSE_TIMEOUT_MS, 'the source', () => source.close(), logger);
      await http?.close();
      for (const observer of observers) observer.onClose?.();
    }
  };

  return {
    config,
    metrics,
    run,
    stop: () => source.stop(),
    status,
    readiness,
    clusters,
    profiles,
    get httpUrl() {
      return http?.url;
    },
    get trainer() {
      return trainer;
    },
    assign: (values) => processor.assignValues(values),
  };
}

/** How long closing a Kafka client may take before it is given up (a broker away can hold it). */
const CLOSE_TIMEOUT_MS = 10_000;

async function closeWithin(
  ms: number,
  what: string,
  close: () => Promise<void>,
  logger: Logger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const outcome = await Promise.race([close().then(() => 'closed' as const), timeout]);
    if (outcome === 'timeout') logger.warn(`closing ${what} took over ${ms} ms; leaving it`);
  } catch (error) {
    logger.warn(`closing ${what} failed`, { error: String(error) });
  } finally {
    clearTimeout(timer);
  }
}

function createSource(
  config: Config,
  logger: Logger,
  resumeAt: readonly SourceOffset[],
  onAssignment: (partitions: number[] | null) => void,
): Source {
  // Bounded sources have one partition; their offsets are sequence numbers to skip up to, and
  // only when the checkpoint was written from the same source (its topic is the file path).
  const topic = config.source === 'file' ? config.file.path : 'synthetic';
  const skip = Number(resumeAt.find((o) => o.topic === topic && o.partition === 0)?.offset ?? 0);
  switch (config.source) {
    case 'synthetic':
      return createSyntheticSource(config.synthetic, config.batch.maxInFlight, skip);
    case 'file':
      return createFileSource(config.file, config.decode.labelField, config.batch.maxInFlight, {
        skip,
      });
    case 'kafka':
      return createKafkaSource(
        config.kafka,
        logger,
        resumeAt,
        config.sync.enabled ? onAssignment : undefined,
      );
  }
}

async function loadResume(config: Config, logger: Logger): Promise<CheckpointFile> {
  const checkpoint = await readCheckpoint(config.checkpoint.dir);
  if (checkpoint.configDigest !== stateDigest(config)) {
    const differences =
      checkpoint.stateSettings === undefined
        ? ['model layers, embedding size, decode fields, cluster.k or distance']
        : stateDifferences(checkpoint.stateSettings, stateSettings(config));
    throw new CheckpointError(
      `the checkpoint in ${config.checkpoint.dir} was written with other settings (${differences.join('; ')}): ` +
        'use the values it was written with, or start without it',
    );
  }
  logger.info('resuming from checkpoint', {
    dir: config.checkpoint.dir,
    writtenAt: checkpoint.writtenAt,
    modelVersion: checkpoint.model.version,
    offsets: checkpoint.offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(','),
  });
  return checkpoint;
}

async function createSink(config: Config, logger: Logger, origin: string): Promise<Sink> {
  const assignments = assignmentsTarget(config);
  if (assignments === 'kafka' || config.source === 'kafka') {
    // With a Kafka source the dead letters go to the dead-letter topic, whatever the assignments do.
    const open = config.kafka.producerThread === 'worker' ? createKafkaSinkThread : createKafkaSink;
    const kafkaSink = await open(config.kafka, logger, assignments === 'kafka', origin);
    if (assignments === 'kafka' || assignments === 'none') return kafkaSink;
    const jsonl = createJsonlSink({
      origin,
      assignments: jsonlTarget(assignments, config),
      deadLetterFile: undefined,
    });
    return {
      write: async (output) => {
        await Promise.all([
          kafkaSink.write(output),
          jsonl.write({ assignments: output.assignments, deadLetters: [] }),
        ]);
      },
      close: async () => {
        await Promise.all([kafkaSink.close(), jsonl.close()]);
      },
    };
  }
  return createJsonlSink({
    origin,
    assignments: assignments === 'none' ? undefined : jsonlTarget(assignments, config),
    deadLetterFile: config.sinks.deadLetterFile === '' ? undefined : config.sinks.deadLetterFile,
    eventsFile: config.sinks.eventsFile === '' ? undefined : config.sinks.eventsFile,
  });
}

function jsonlTarget(kind: 'stdout' | 'file', config: Config): 'stdout' | { file: string } {
  return kind === 'stdout' ? 'stdout' : { file: config.sinks.assignmentsFile };
}
