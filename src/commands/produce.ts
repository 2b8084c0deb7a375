/**
 * `streamclust produce --file data.csv|data.jsonl --topic T [--rate n/s]`: loads a data set into
 * a topic for demos and evaluations. A CSV row becomes the same JSON record the file source
 * makes (`{"features": [...], "label": n}`), a JSONL line is sent as it is; each record is keyed
 * by its row number (0-based, data rows only) and sent with acks from all in-sync replicas,
 * compressed as `kafka.compression` says (in the --config file, or
 * STREAMCLUST_KAFKA__COMPRESSION=zstd).
 */
import { Kafka, Partitioners, type Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { scanLabels } from '../eval/label-scan.js';
import { createLogger, type Logger } from '../log.js';
import { resolveFileSource } from '../sources/csv-file.js';
import { createFileSource } from '../sources/file-source.js';
import { compressionType } from '../sources/kafka-codecs.js';
import { kafkaClientConfig } from '../sources/kafka-source.js';
import { helpFor, parseEvaluationFlags, type FlagSpec } from './evaluation-flags.js';
import { createProgressBar } from './progress-bar.js';

const FLAGS: Record<string, FlagSpec> = {
  file: { type: 'string', help: 'JSONL file, or CSV with a header row (required)' },
  topic: { type: 'string', help: 'topic to write to (required)' },
  brokers: {
    type: 'string',
    help: 'Kafka bootstrap servers, comma-separated (also KAFKA_BROKERS)',
  },
  rate: {
    type: 'string',
    help: 'records per second, 0 = as fast as the broker takes them (default 0)',
  },
  partitions: {
    type: 'string',
    help: 'partitions of the topic if it has to be created (default kafka.topicPartitions, 3)',
  },
  'label-field': { type: 'string', help: 'CSV column that holds the label (default label)' },
  config: { type: 'string', short: 'c', help: 'YAML configuration file (kafka.* keys)' },
  'log-level': { type: 'string', help: 'debug, info, warn (default), error or silent' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export function produceHelp(): string {
  return helpFor(
    'streamclust produce --file <path> --topic <topic> [--rate n]',
    'streamclust produce: writes a CSV or JSONL data set to a topic, one record per row.',
    FLAGS,
  );
}

function required(values: Record<string, unknown>, flag: string): string {
  const value = values[flag];
  if (typeof value === 'string' && value !== '') return value;
  throw new ConfigError([
    { key: `--${flag}`, value: '<missing>', rule: 'produce needs it', fix: `pass --${flag}` },
  ]);
}

function number(
  values: Record<string, unknown>,
  flag: string,
  fallback: number,
  min: number,
): number {
  const text = values[flag];
  if (typeof text !== 'string') return fallback;
  const value = Number(text);
  if (Number.isFinite(value) && value >= min) return value;
  throw new ConfigError([
    {
      key: `--${flag}`,
      value: JSON.stringify(text),
      rule: `must be a number >= ${min}`,
      fix: `pass --${flag} ${Math.max(min, 1)}`,
    },
  ]);
}

async function ensureTopic(
  kafka: Kafka,
  topic: string,
  partitions: number,
  replicationFactor: number,
  logger: Logger,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) return;
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor }],
      waitForLeaders: true,
    });
    logger.warn('created the topic', { topic, partitions });
  } finally {
    await admin.disconnect();
  }
}

export async function produceMain(argv: readonly string[]): Promise<number> {
  const flags = parseEvaluationFlags('produce', argv, FLAGS, {});
  const { values } = flags;
  if (values['help'] === true) {
    process.stdout.write(produceHelp() + '\n');
    return 0;
  }
  const file = required(values, 'file');
  const topic = required(values, 'topic');
  const rate = number(values, 'rate', 0, 0);
  const partitionsFlag = values['partitions'];
  const brokers = values['brokers'];
  const config = loadConfig({
    ...(flags.file === undefined ? {} : { file: flags.file }),
    overrides: {
      'log.level': 'warn',
      ...flags.overrides,
      'file.path': file,
      // Small chunks when rate-limited, so the pace is smooth rather than bursts of 256.
      ...(rate > 0 ? { 'file.chunkSize': Math.max(1, Math.min(256, Math.floor(rate / 10))) } : {}),
      ...(typeof brokers === 'string'
        ? { 'kafka.brokers': brokers.split(',').map((b) => b.trim()) }
        : {}),
    },
  });
  if (config.kafka.brokers.length === 0) {
    throw new ConfigError([
      {
        key: '--brokers',
        value: '<missing>',
        rule: 'produce needs a broker',
        fix: 'pass --brokers host:port or set KAFKA_BROKERS',
      },
    ]);
  }
  // Named columns (decode.fields) and a label column other than the default must exist.
  resolveFileSource({ ...config, source: 'file' });
  const logger = createLogger(config.log.level);
  const kafka = new Kafka(kafkaClientConfig(config.kafka, logger));
  // Created as run creates its topics: kafka.topicPartitions (--partitions overrides it).
  const partitions =
    partitionsFlag === undefined
      ? config.kafka.topicPartitions
      : Math.floor(number(values, 'partitions', 1, 1));
  await ensureTopic(kafka, topic, partitions, config.kafka.topicReplicationFactor, logger);
  const { records: total } = await scanLabels(fileSource(config), config.decode.labelField);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const sent = await send(producer, topic, config, rate, createProgressBar('produce', total));
    process.stdout.write(`produced ${sent.toLocaleString('en')} records to ${topic}\n`);
  } finally {
    await producer.disconnect();
  }
  return 0;
}

/** A CSV row goes to the topic as {"features": [...], "label": ...}, what `run` decodes by default. */
function fileSource(config: Config) {
  return createFileSource(config.file, config.decode.labelField, config.batch.maxInFlight, {
    csvShape: 'vector',
    fields: config.decode.fields,
  });
}

async function send(
  producer: Producer,
  topic: string,
  config: Config,
  rate: number,
  progress: ReturnType<typeof createProgressBar>,
): Promise<number> {
  const started = performance.now();
  const compression = compressionType(config.kafka.compression);
  let sent = 0;
  let chain = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    fileSource(config).chunks.subscribe({
      next: (chunk) => {
        // One send at a time, in file order; the file source waits on the settles.
        chain = chain.then(async () => {
          const messages = chunk.records.map((r, i) => ({ key: String(sent + i), value: r.value }));
          await producer.send({ topic, acks: -1, messages, compression });
          sent += messages.length;
          progress.update(sent);
          for (let i = 0; i < chunk.records.length; i++) chunk.settle();
          if (rate > 0) {
            const wait = started + (sent / rate) * 1000 - performance.now();
            if (wait > 0) await sleep(wait);
          }
        });
        chain.catch(reject);
      },
      error: reject,
      complete: () => void chain.then(() => resolve(), reject),
    });
  });
  progress.finish();
  return sent;
}
