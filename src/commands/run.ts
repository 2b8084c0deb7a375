/**
 * `streamclust run [options]`: the main job. Configuration comes from the schema's defaults, an
 * optional YAML file, STREAMCLUST_* environment variables and these flags, in that order. The
 * first SIGINT/SIGTERM drains in-flight records, commits and exits 0; a second one exits at once.
 */

import { loadConfig, parseValue } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { ConfigError, EXIT_REFUSED } from '../errors.js';
import { createLogger } from '../log.js';
import { createPipeline, type Pipeline, type PipelineStatus } from '../pipeline/create-pipeline.js';
import { parseCommandFlags } from './command-line.js';
import { badData, EXIT_BAD_DATA, outputsOf, runSummary } from './run-summary.js';
import { redactSecrets } from '../kafka/security.js';

const FLAGS = {
  config: {
    type: 'string',
    short: 'c',
    key: undefined,
    help: 'YAML configuration file (every key: config/default.yaml)',
  },
  source: {
    type: 'string',
    key: 'source',
    help: 'synthetic (default, the built-in demo stream), kafka or file',
  },
  brokers: {
    type: 'string',
    key: 'kafka.brokers',
    help: 'Kafka bootstrap servers, comma-separated (also KAFKA_BROKERS)',
  },
  topic: { type: 'string', key: 'kafka.inputTopic', help: 'Kafka topic to consume (source kafka)' },
  group: {
    type: 'string',
    key: 'kafka.groupId',
    help: 'Kafka consumer group (default streamclust)',
  },
  file: {
    type: 'string',
    key: 'file.path',
    help: 'JSONL or CSV file to read (implies --source file)',
  },
  backend: {
    type: 'string',
    key: 'model.backend',
    help: 'TensorFlow.js backend: auto, tensorflow, wasm or cpu',
  },
  'batch-size': {
    type: 'string',
    key: 'batch.size',
    help: 'most records per micro-batch (default 1024; under load batches grow towards it)',
  },
  workers: {
    type: 'string',
    key: 'model.workers',
    help: 'trainer worker threads, one model replica each (default 1)',
  },
  'checkpoint-dir': {
    type: 'string',
    key: 'checkpoint.dir',
    help: 'write checkpoints to this directory (every checkpoint.everyBatches / everySeconds and on stop)',
  },
  resume: {
    type: 'boolean',
    key: 'checkpoint.resume',
    help: 'start from the checkpoint in --checkpoint-dir and read the source from its offsets',
  },
  k: { type: 'string', key: 'cluster.k', help: 'number of clusters (default 8)' },
  records: {
    type: 'string',
    key: 'synthetic.totalRecords',
    help: 'stop the synthetic stream after N records (0 = never)',
  },
  rate: {
    type: 'string',
    key: 'synthetic.recordsPerSecond',
    help: 'synthetic records per second (0 = as fast as possible)',
  },
  seed: { type: 'string', key: 'synthetic.seed', help: 'seed of the synthetic stream' },
  assignments: {
    type: 'string',
    key: 'sinks.assignments',
    help: 'where assignments go: auto, kafka, stdout, file or none',
  },
  host: {
    type: 'string',
    key: 'http.host',
    help: 'address of the HTTP endpoints (default 127.0.0.1)',
  },
  port: {
    type: 'string',
    key: 'http.port',
    help: 'port of /metrics, /healthz, /readyz, /clusters (default 9464; 0 = any free port)',
  },
  'log-level': { type: 'string', key: 'log.level', help: 'debug, info, warn, error or silent' },
  set: {
    type: 'string',
    multiple: true,
    key: undefined,
    help: 'set any key: --set batch.maxWaitMs=500 (repeatable)',
  },
  'print-config': {
    type: 'boolean',
    key: undefined,
    help: 'print the effective configuration as JSON and exit',
  },
  help: { type: 'boolean', short: 'h', key: undefined, help: 'show this help' },
} as const;

export function helpText(): string {
  const lines = Object.entries(FLAGS).map(([name, flag]) => {
    const short = 'short' in flag ? `-${flag.short}, ` : '    ';
    const value = flag.type === 'string' ? ' <value>' : '';
    return `  ${short}--${(name + value).padEnd(24)} ${flag.help}`;
  });
  return [
    'streamclust: continuously clusters an event stream and watches the clusters drift.',
    '',
    'Usage: streamclust run [options]',
    '',
    'Options:',
    ...lines,
    '',
    'Environment: KAFKA_BROKERS, and STREAMCLUST_<SECTION>__<KEY> for any key',
    '(e.g. STREAMCLUST_BATCH__MAX_WAIT_MS=500). Precedence: flags > environment > file > defaults.',
    'Metrics: http://127.0.0.1:9464/metrics while running. Stop with Ctrl-C (twice to force).',
  ].join('\n');
}

export function parseCommandLine(argv: readonly string[]): {
  command: string | undefined;
  file: string | undefined;
  overrides: Record<string, unknown>;
  help: boolean;
  printConfig: boolean;
} {
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, f]) => [
      name,
      {
        type: f.type,
        ...('short' in f ? { short: f.short } : {}),
        ...('multiple' in f ? { multiple: true } : {}),
      },
    ]),
  );
  const parsed = parseCommandFlags('run', argv, options as never, true);
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const overrides: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(FLAGS)) {
    const value = values[name];
    if (flag.key === undefined || value === undefined) continue;
    if (typeof value === 'boolean') {
      overrides[flag.key] = value;
      continue;
    }
    if (typeof value !== 'string') continue;
    overrides[flag.key] =
      flag.key === 'kafka.brokers'
        ? value.split(',').map((b) => b.trim())
        : parseValue(flag.key, value);
  }
  // --file names the data to read: it implies --source file (it used to be ignored silently
  // without it, and the demo stream ran instead).
  if (typeof values['file'] === 'string' && values['source'] === undefined) {
    overrides['source'] = 'file';
  }
  for (const assignment of (values['set'] as string[] | undefined) ?? []) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError([
        {
          key: '--set',
          value: JSON.stringify(assignment),
          rule: 'must have the form key=value',
          fix: 'e.g. --set batch.size=512',
        },
      ]);
    }
    const key = assignment.slice(0, eq).trim();
    overrides[key] = parseValue(key, assignment.slice(eq + 1));
  }
  return {
    command: parsed.positionals[0],
    file: values['config'] as string | undefined,
    overrides,
    help: values['help'] === true,
    printConfig: values['print-config'] === true,
  };
}

function statusLine(pipeline: Pipeline, previous: { at: number; records: number }): string {
  const s = pipeline.status();
  const now = Date.now();
  const rate = ((s.recordsConsumed - previous.records) * 1000) / Math.max(1, now - previous.at);
  previous.at = now;
  previous.records = s.recordsConsumed;
  const clusters = s.storeReady
    ? `${s.clusters} clusters`
    : `warming up ${s.warmup.seen}/${s.warmup.needed}`;
  const loss = s.lastLoss === undefined ? 'loss -' : `loss ${s.lastLoss.toFixed(4)}`;
  return (
    `[streamclust] ${s.recordsConsumed.toLocaleString('en')} records (${Math.round(rate).toLocaleString('en')}/s)` +
    ` | ${s.recordsAssigned.toLocaleString('en')} assigned | ${s.recordsInvalid} invalid | ${clusters} | ${loss}` +
    ` | model v${s.modelVersion} | ${s.backend ?? 'backend -'}`
  );
}

export async function runCommand(config: Config): Promise<number> {
  const logger = createLogger(config.log.level);
  const pipeline = await createPipeline(config, { logger });
  logger.info(`outputs: ${outputsOf(config).join('; ')}`);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn(`second ${signal}: exiting now without draining`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    logger.info(`${signal}: draining in-flight records, committing and stopping (again to force)`);
    const deadline = setTimeout(() => {
      const s = pipeline.status();
      logger.error(
        `shutdown.timeoutMs (${config.shutdown.timeoutMs} ms) passed before the pipeline drained; ` +
          `exiting with ${s.recordsInFlight} records unwritten (they are not committed and will be read again); ` +
          `it was waiting on ${describeWait(s.waitingOn)}`,
      );
      process.exit(1);
    }, config.shutdown.timeoutMs);
    deadline.unref();
    void pipeline.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const previous = { at: Date.now(), records: 0 };
  const interval =
    config.log.statusIntervalMs > 0 && config.log.level !== 'silent'
      ? setInterval(
          () => process.stderr.write(statusLine(pipeline, previous) + '\n'),
          config.log.statusIntervalMs,
        )
      : undefined;
  // A pipeline that stops moving says what it waits on, every STALL_WARN_MS, instead of going quiet.
  let warnedAt = 0;
  const stallWatch = setInterval(() => {
    const s = pipeline.status();
    const waited = s.waitingOn === undefined ? 0 : Date.now() - s.waitingOn.since;
    const stalled = stallReport(s, Date.now(), config.batch.stallTimeoutMs);
    if (stalled !== undefined) {
      // The stage will not come back: stop now, uncommitted, rather than hang for ever.
      logger.error(stalled);
      process.exit(EXIT_REFUSED);
    }
    if (waited < STALL_WARN_MS || Date.now() - warnedAt < STALL_WARN_MS) return;
    warnedAt = Date.now();
    logger.warn(`the pipeline has been waiting on ${describeWait(s.waitingOn)}`, {
      recordsInFlight: s.recordsInFlight,
    });
  }, 1_000);
  stallWatch.unref();
  try {
    await pipeline.run();
    const s = pipeline.status();
    logger.info('stopped', {
      consumed: s.recordsConsumed,
      assigned: s.recordsAssigned,
      invalid: s.recordsInvalid,
    });
    // The summary is for the person at the terminal: shown unless the log is silenced.
    if (config.log.level !== 'silent') process.stderr.write(runSummary(config, s) + '\n');
    const bad = badData(config, s);
    if (bad === undefined) return 0;
    process.stderr.write(`streamclust: ${bad}\n`);
    return EXIT_BAD_DATA;
  } finally {
    clearInterval(interval);
    clearInterval(stallWatch);
  }
}

const STALL_WARN_MS = 30_000;

function describeWait(
  waitingOn: { stage: string; since: number } | undefined,
  now = Date.now(),
): string {
  if (waitingOn === undefined) return 'the source (no batch in progress)';
  return `${waitingOn.stage} for ${Math.round((now - waitingOn.since) / 1000)} s`;
}

/**
 * The watchdog's verdict: the error line when a batch stage has been waited on for
 * `stallTimeoutMs` (batch.stallTimeoutMs; 0 = never), else undefined. Waiting for the source
 * with no batch in progress is a quiet stream, not a stall.
 */
export function stallReport(
  status: Pick<PipelineStatus, 'waitingOn' | 'recordsInFlight'>,
  now: number,
  stallTimeoutMs: number,
): string | undefined {
  const { waitingOn } = status;
  if (stallTimeoutMs <= 0 || waitingOn === undefined || now - waitingOn.since < stallTimeoutMs)
    return undefined;
  return (
    `stalled: the pipeline has been waiting on ${describeWait(waitingOn, now)}, past batch.stallTimeoutMs ` +
    `(${stallTimeoutMs} ms); exiting with code ${EXIT_REFUSED} and ${status.recordsInFlight} records unwritten ` +
    '(not committed: they are read again after a restart)'
  );
}

/** `streamclust run ...`: parse, load the configuration, run. */
export async function runMain(argv: readonly string[]): Promise<number> {
  const cli = parseCommandLine(argv);
  if (cli.help) {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const config = loadConfig({
    ...(cli.file === undefined ? {} : { file: cli.file }),
    overrides: cli.overrides,
  });
  if (cli.printConfig) {
    process.stdout.write(JSON.stringify(redactSecrets(config), null, 2) + '\n');
    return 0;
  }
  return runCommand(config);
}
