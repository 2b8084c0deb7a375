/**
 * The one schema of streamclust's configuration: the single source of defaults and types.
 * `config/default.yaml` documents every key; a test checks that file parses to exactly these
 * defaults, so the two cannot drift apart.
 *
 * Objects are strict (an unknown key is an error, usually a typo) and use `prefault({})` so a
 * missing section still gets its inner defaults (zod 4's `default` would skip them).
 */
import { z } from 'zod';

import { clusterShape } from '../cluster/config.js';
import { driftConfigSchema } from '../drift/config.js';
import { lossesConfigSchema } from '../losses/config.js';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);

/**
 * The longest delay Node's timers hold: 2^31 - 1 ms, about 24.8 days. setTimeout and setInterval
 * fire a longer delay after 1 ms (with only a TimeoutOverflowWarning), so an over-large timeout
 * would silently act as almost none.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Milliseconds that end up in a timer (ours or kafkajs'): an integer from `min` to `max`. */
function durationMs(min: 0 | 1, max = MAX_TIMER_MS) {
  return z.number().int().min(min).max(max);
}

/** Keys whose values configuration error messages never show. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'kafka.sasl.username',
  'kafka.sasl.password',
  'http.authToken',
]);

const syntheticSchema = z
  .strictObject({
    seed: z.number().int().default(42),
    dim: positiveInt.max(4096).default(8),
    clusters: positiveInt.max(1000).default(5),
    spread: z.number().positive().default(0.6),
    separation: z.number().positive().default(6),
    recordsPerSecond: z.number().min(0).default(2000),
    totalRecords: nonNegativeInt.default(0),
    chunkSize: positiveInt.max(100_000).default(256),
    driftEveryRecords: nonNegativeInt.default(20_000),
    malformedEvery: nonNegativeInt.default(0),
  })
  .prefault({});

const fileSourceSchema = z
  .strictObject({
    path: z.string().default(''),
    format: z.enum(['auto', 'jsonl', 'csv']).default('auto'),
    chunkSize: positiveInt.max(100_000).default(256),
  })
  .prefault({});

const kafkaSslSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    caFile: z.string().default(''),
    certFile: z.string().default(''),
    keyFile: z.string().default(''),
    rejectUnauthorized: z.boolean().default(true),
  })
  .prefault({});

const kafkaSaslSchema = z
  .strictObject({
    mechanism: z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']).default('none'),
    username: z.string().default(''),
    password: z.string().default(''),
    passwordFile: z.string().default(''),
  })
  .prefault({});

const kafkaSchema = z
  .strictObject({
    brokers: z.array(z.string().min(1)).default([]),
    clientId: z.string().min(1).default('streamclust'),
    groupId: z.string().min(1).default('streamclust'),
    inputTopic: z.string().default(''),
    assignmentsTopic: z.string().default('streamclust.assignments'),
    deadLetterTopic: z.string().default('streamclust.dead-letter'),
    eventsTopic: z.string().default('streamclust.events'),
    fromBeginning: z.boolean().default(true),
    partitionsConsumedConcurrently: positiveInt.max(64).default(3),
    readAheadRecords: nonNegativeInt.max(1_000_000).default(4096),
    sessionTimeoutMs: durationMs(1).default(30_000),
    heartbeatIntervalMs: durationMs(1).default(3_000),
    connectionTimeoutMs: durationMs(1).default(3_000),
    createTopics: z.boolean().default(true),
    topicPartitions: positiveInt.max(10_000).default(3),
    topicReplicationFactor: z.number().int().min(-1).max(32).default(-1),
    lagIntervalMs: durationMs(0).default(5_000),
    delivery: z.enum(['at-least-once', 'exactly-once']).default('at-least-once'),
    writeTimeoutMs: durationMs(1).default(30_000),
    startupTimeoutMs: durationMs(1).default(300_000),
    metadataMaxAgeMs: durationMs(1).default(30_000),
    missingTopicTimeoutMs: durationMs(1).default(300_000),
    transactionalId: z.string().default(''),
    compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'),
    producerThread: z.enum(['main', 'worker']).default('worker'),
    ssl: kafkaSslSchema,
    sasl: kafkaSaslSchema,
  })
  .prefault({});

const decodeSchema = z
  .strictObject({
    vectorField: z.string().default('features'),
    fields: z.array(z.string().min(1)).default([]),
    dim: nonNegativeInt.default(0),
    labelField: z.string().default('label'),
    labelValues: z.array(z.string()).default([]),
    maxRecordBytes: positiveInt.default(1_048_576),
    maxInvalidShare: z.number().min(0).max(1).default(1),
    thread: z.enum(['main', 'worker']).default('main'),
    standardize: z.boolean().default(true),
    clip: z.number().min(0).default(5),
    schemaVersionField: z.string().default(''),
    schemaVersions: z.array(z.union([z.string(), z.number()])).default([]),
  })
  .prefault({});

const batchSchema = z
  .strictObject({
    // Under load batches grow towards this size (see fetchedBatches); a slow stream's batches
    // are what one fetch brings. Evaluations use 256, the chunk size of their file reads.
    size: positiveInt.max(65_536).default(1024),
    maxWaitMs: durationMs(1, 600_000).default(200),
    maxInFlight: positiveInt.max(64).default(4),
    stallTimeoutMs: durationMs(0).default(600_000),
  })
  .prefault({});

const modelSchema = z
  .strictObject({
    kind: z.enum(['mlp', 'none']).default('mlp'),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    hiddenLayers: z.array(positiveInt.max(8192)).default([256]),
    embeddingDim: positiveInt.max(4096).default(32),
    activation: z.enum(['relu', 'elu', 'tanh', 'selu']).default('relu'),
    optimizer: z.enum(['adam', 'sgd']).default('adam'),
    learningRate: z.number().positive().max(10).default(0.001),
    gradientClipNorm: z.number().min(0).default(5),
    seed: z.number().int().default(7),
    workers: positiveInt.max(64).default(1),
    /**
     * Threads of TensorFlow's intra-op pool in each worker (native backend): auto leaves two
     * cores to the main thread and the broker and shares the rest among the model's threads, at
     * least one each; 0 is TensorFlow's own default, a thread per core.
     */
    intraOpThreads: z.union([z.literal('auto'), nonNegativeInt.max(1024)]).default('auto'),
  })
  .prefault({});

const trainingSchema = z
  .strictObject({
    mode: z.enum(['every', 'fraction', 'off']).default('every'),
    fraction: z.number().min(0).max(1).default(1),
    schedule: z.enum(['background', 'inline']).default('background'),
    warmupBatches: nonNegativeInt.default(0),
    replayRatio: z.number().min(0).max(1000).default(4),
    anchors: positiveInt.max(65_536).default(256),
    poolSize: positiveInt.max(65_536).default(1024),
    memory: z
      .strictObject({
        size: positiveInt.max(1 << 22).default(4096),
        policy: z.enum(['reservoir', 'recent']).default('reservoir'),
      })
      .prefault({}),
    pretrain: z
      .strictObject({
        epochs: nonNegativeInt.max(100_000).default(50),
        maxSeconds: z.number().min(0).default(60),
      })
      .prefault({}),
    realign: z
      .strictObject({
        sample: nonNegativeInt.max(1 << 20).default(2048),
        iterations: positiveInt.max(100).default(1),
        everySteps: positiveInt.max(100_000).default(4),
      })
      .prefault({}),
  })
  .prefault({});

const clusterSchema = z
  .strictObject({
    ...clusterShape,
    warmupMaxWaitMs: durationMs(1).default(2_000),
    seed: z.number().int().default(11),
    frozen: z.boolean().default(false),
    outlierQuantile: z.number().gt(0).lt(1).default(0.99),
  })
  .prefault({});

const checkpointSchema = z
  .strictObject({
    dir: z.string().default(''),
    everyBatches: nonNegativeInt.default(500),
    everySeconds: nonNegativeInt.default(60),
    onShutdown: z.boolean().default(true),
    resume: z.boolean().default(false),
  })
  .prefault({});

const sinksSchema = z
  .strictObject({
    assignments: z.enum(['auto', 'kafka', 'stdout', 'file', 'none']).default('auto'),
    assignmentsFile: z.string().default('out/assignments.jsonl'),
    deadLetterFile: z.string().default(''),
    eventsFile: z.string().default(''),
    instanceId: z.string().default(''),
  })
  .prefault({});

const httpSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(9464),
    liveView: z.boolean().default(true),
    perClusterSeriesMaxK: positiveInt.max(10_000).default(64),
    authToken: z.string().default(''),
    authTokenFile: z.string().default(''),
  })
  .prefault({});

const syncSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    stateTopic: z.string().default(''),
    intervalMs: durationMs(1).default(2_000),
    network: z.enum(['leader', 'average']).default('leader'),
    maxMessageBytes: z.number().int().min(1_024).max(1_073_741_824).default(16_777_216),
  })
  .prefault({});

const shutdownSchema = z
  .strictObject({
    timeoutMs: durationMs(1).default(30_000),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    statusIntervalMs: durationMs(0).default(2_000),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    source: z.enum(['synthetic', 'kafka', 'file']).default('synthetic'),
    synthetic: syntheticSchema,
    file: fileSourceSchema,
    kafka: kafkaSchema,
    decode: decodeSchema,
    batch: batchSchema,
    model: modelSchema,
    training: trainingSchema,
    losses: lossesConfigSchema,
    cluster: clusterSchema,
    drift: driftConfigSchema.prefault({}),
    checkpoint: checkpointSchema,
    sinks: sinksSchema,
    http: httpSchema,
    sync: syncSchema,
    shutdown: shutdownSchema,
    log: logSchema,
  })
  .superRefine((config, ctx) => {
    for (const problem of crossFieldProblems(config)) {
      ctx.addIssue({
        code: 'custom',
        path: problem.path,
        message: problem.message,
        params: { value: problem.input },
      });
    }
  });

export type Config = z.infer<typeof configSchema>;

interface CrossFieldProblem {
  path: string[];
  message: string;
  input: unknown;
}

/** Rules that involve more than one key; each message names the rule, the fix is in FIXES. */
function crossFieldProblems(config: Config): CrossFieldProblem[] {
  const problems: CrossFieldProblem[] = [];
  const usesKafka = config.source === 'kafka' || config.sinks.assignments === 'kafka';
  if (usesKafka && config.kafka.brokers.length === 0) {
    problems.push({
      path: ['kafka', 'brokers'],
      message: 'must list at least one broker when the source or a sink is kafka',
      input: config.kafka.brokers,
    });
  }
  if (config.source === 'kafka' && config.kafka.inputTopic === '') {
    problems.push({
      path: ['kafka', 'inputTopic'],
      message: 'must name the topic to consume when source is kafka',
      input: config.kafka.inputTopic,
    });
  }
  if (config.source === 'file' && config.file.path === '') {
    problems.push({
      path: ['file', 'path'],
      message: 'must name a JSONL or CSV file when source is file',
      input: config.file.path,
    });
  }
  const { sasl } = config.kafka;
  if (sasl.mechanism !== 'none' && sasl.username === '') {
    problems.push({
      path: ['kafka', 'sasl', 'username'],
      message: `must be set when kafka.sasl.mechanism is ${sasl.mechanism}`,
      input: sasl.username,
    });
  }
  if (sasl.mechanism !== 'none' && sasl.password === '' && sasl.passwordFile === '') {
    problems.push({
      path: ['kafka', 'sasl', 'password'],
      message: `must be set (or kafka.sasl.passwordFile) when kafka.sasl.mechanism is ${sasl.mechanism}`,
      input: '',
    });
  }
  if (config.kafka.heartbeatIntervalMs >= config.kafka.sessionTimeoutMs) {
    problems.push({
      path: ['kafka', 'heartbeatIntervalMs'],
      message: `must be lower than kafka.sessionTimeoutMs (${config.kafka.sessionTimeoutMs})`,
      input: config.kafka.heartbeatIntervalMs,
    });
  }
  if (config.decode.schemaVersionField !== '' && config.decode.schemaVersions.length === 0) {
    problems.push({
      path: ['decode', 'schemaVersions'],
      message: 'must list the accepted versions when decode.schemaVersionField is set',
      input: config.decode.schemaVersions,
    });
  }
  if (config.decode.fields.length > 0 && config.decode.dim !== 0) {
    if (config.decode.dim !== config.decode.fields.length) {
      problems.push({
        path: ['decode', 'dim'],
        message: `must equal the number of decode.fields (${config.decode.fields.length}) or be 0`,
        input: config.decode.dim,
      });
    }
  }
  const { k } = config.cluster;
  if (config.cluster.warmupSize < k) {
    problems.push({
      path: ['cluster', 'warmupSize'],
      message: `must be at least cluster.k (${k}): k-means++ picks its k seeds among the warm-up records`,
      input: config.cluster.warmupSize,
    });
  }
  if (config.cluster.reservoirSize < k) {
    problems.push({
      path: ['cluster', 'reservoirSize'],
      message: `must be at least cluster.k (${k}): the reservoir holds the points k-means++ seeds from`,
      input: config.cluster.reservoirSize,
    });
  }
  if (config.cluster.adaptive.enabled && config.cluster.adaptive.maxClusters < k) {
    problems.push({
      path: ['cluster', 'adaptive', 'maxClusters'],
      message: `must be at least cluster.k (${k}): adaptive k only adds clusters`,
      input: config.cluster.adaptive.maxClusters,
    });
  }
  if (config.training.warmupBatches > 0 && config.losses.reconstruction.weight === 0) {
    problems.push({
      path: ['training', 'warmupBatches'],
      message:
        'needs the decoder: the warm-up phase trains reconstruction only, and losses.reconstruction.weight is 0',
      input: config.training.warmupBatches,
    });
  }
  if (config.checkpoint.resume && config.checkpoint.dir === '') {
    problems.push({
      path: ['checkpoint', 'dir'],
      message: 'must name the checkpoint directory when checkpoint.resume is true',
      input: config.checkpoint.dir,
    });
  }
  if (config.training.mode === 'fraction' && config.training.fraction === 0) {
    problems.push({
      path: ['training', 'fraction'],
      message: 'must be above 0 when training.mode is fraction',
      input: config.training.fraction,
    });
  }
  const { positives, ntXent } = config.losses;
  if (ntXent.weight > 0 && positives.source !== 'neighbours' && positives.source !== 'views') {
    problems.push({
      path: ['losses', 'ntXent', 'weight'],
      message: `needs pairs of rows: losses.positives.source is ${positives.source}, NT-Xent takes neighbours or views`,
      input: ntXent.weight,
    });
  }
  if (config.sync.enabled && config.source !== 'kafka') {
    problems.push({
      path: ['sync', 'enabled'],
      message:
        'needs source: kafka: the instances of a group share partitions and state through Kafka',
      input: config.sync.enabled,
    });
  }
  if (config.training.anchors > config.training.poolSize) {
    problems.push({
      path: ['training', 'anchors'],
      message: `must be at most training.poolSize (${config.training.poolSize}): the anchors are part of the pool their neighbours come from`,
      input: config.training.anchors,
    });
  }
  return problems;
}

/** How to fix each key, used in error messages. Keys without an entry get a generic hint. */
export const FIXES: Readonly<Record<string, string>> = {
  source: 'set source to synthetic (the built-in demo stream), kafka or file',
  'kafka.brokers':
    'set kafka.brokers (e.g. [localhost:9092]) in the config file, or KAFKA_BROKERS=host:port, or --brokers host:port',
  'kafka.sasl.username': 'set kafka.sasl.username, or set kafka.sasl.mechanism to none',
  'kafka.sasl.password':
    'set STREAMCLUST_KAFKA__SASL__PASSWORD in the environment, or kafka.sasl.passwordFile to a file holding it',
  'kafka.inputTopic': 'set kafka.inputTopic, or pass --topic NAME',
  'kafka.heartbeatIntervalMs':
    'set kafka.heartbeatIntervalMs lower than kafka.sessionTimeoutMs; about a third of it is recommended',
  'file.path': 'set file.path, or pass --file PATH',
  'decode.schemaVersions':
    'list the versions this configuration decodes, e.g. [1, 2], or set decode.schemaVersionField to an empty string',
  'decode.dim': 'set decode.dim to the number of decode.fields, or to 0 to take it from the data',
  'batch.size':
    'set batch.size to an integer from 1 to 65536 (default 1024), or pass --batch-size N',
  'batch.maxWaitMs': 'set batch.maxWaitMs to a positive number of milliseconds (default 200)',
  'batch.maxInFlight': 'set batch.maxInFlight to an integer from 1 to 64 (default 4)',
  'model.backend':
    'set model.backend to auto (best that loads), tensorflow, wasm or cpu, or pass --backend NAME',
  'model.learningRate': 'set model.learningRate to a positive number, typically 1e-4 to 1e-2',
  'cluster.k': 'set cluster.k to the number of clusters, an integer from 1 to 10000, or pass --k N',
  'cluster.warmupSize':
    'set cluster.warmupSize to at least cluster.k, 10 × k or more is better (default 1000)',
  'cluster.reservoirSize':
    'set cluster.reservoirSize to at least cluster.k, 10 × k or more is better (default 1000)',
  'cluster.adaptive.maxClusters':
    'raise cluster.adaptive.maxClusters to at least cluster.k, or lower cluster.k',
  'http.port': 'set http.port to a TCP port from 0 to 65535 (0 picks a free one), or pass --port N',
  'training.warmupBatches':
    'set losses.reconstruction.weight above 0 (e.g. 0.1), or training.warmupBatches to 0',
  'checkpoint.dir':
    'set checkpoint.dir to a directory (it is created), or pass --checkpoint-dir DIR',
  'model.workers':
    'set model.workers to an integer from 1 to 64 (one replica per worker thread), or pass --workers N',
  'training.fraction': 'set training.fraction between 0 and 1 (exclusive of 0 in fraction mode)',
  'losses.ntXent.weight':
    'set losses.positives.source to neighbours (default) or views, or losses.ntXent.weight to 0',
  'sync.enabled':
    'set source: kafka (with kafka.brokers and kafka.inputTopic), or sync.enabled: false',
  'sync.intervalMs':
    'set sync.intervalMs to a positive number of milliseconds (default 2000): how often instances publish their state',
  'training.anchors':
    'set training.anchors at most training.poolSize (defaults 256 and 1024), or raise training.poolSize',
};
