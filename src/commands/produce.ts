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
import { JsonDecoder } from '../decode/json-decoder.js';
import { InvalidTally } from '../pipeline/invalid-tally.js';
import { isCsv, resolveFileSource } from '../sources/csv-file.js';
import { createFileSource } from '../sources/file-source.js';
import { compressionType } from '../kafka/codecs.js';
import type { SourceRecord } from '../sources/source.js';
import { firstContactClientConfig, kafkaClientConfig } from '../kafka/client.js';
import { helpFor, parseEvaluationFlags, type FlagSpec } from './evaluation-flags.js';
import { createProgressBar } from './progress-bar.js';
import { EXIT_BAD_DATA, badData, invalidLines } from './run-summary.js';

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
  // First contact with quick retries: a wrong broker is said in about a second.
  const firstContact = new Kafka(firstContactClientConfig(config.kafka, logger));
  await ensureTopic(firstContact, topic, partitions, config.kafka.topicReplicationFactor, logger);
  const { records: total } = await scanLabels(fileSource(config), config.decode.labelField);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const check = new RecordCheck(decodeAsRunWill(config));
  try {
    const sent = await send(
      producer,
      topic,
      config,
      rate,
      createProgressBar('produce', total),
      check,
    );
    return produceSummary(config, topic, sent, check);
  } finally {
    await producer.disconnect();
  }
}

/**
 * How `run` will decode the topic: a CSV's rows go out as `{"features": [...], "label": ...}`
 * (its decode.fields already chosen), a JSONL line as it is.
 */
function decodeAsRunWill(config: Config): Config['decode'] {
  if (!isCsv(config.file)) return config.decode;
  return { ...config.decode, fields: [], vectorField: 'features', labelField: 'label' };
}

/**
 * Decodes every record produced as `run` will, without standardising, so that the end of
 * `produce` can say how many of them `run` would send to the dead letters, and why.
 */
class RecordCheck {
  readonly invalid = new InvalidTally();
  invalidCount = 0;
  private readonly decoder: JsonDecoder;

  constructor(decode: Config['decode']) {
    this.decoder = new JsonDecoder({ ...decode, standardize: false });
  }

  add(records: readonly SourceRecord[]): void {
    this.decoder.voteDimension(records.map((r) => r.value));
    for (const record of records) {
      const decoded = this.decoder.decode(record.value);
      if (decoded.ok) continue;
      this.invalidCount += 1;
      this.invalid.add(decoded.reason, record, decoded.message);
    }
  }
}

/** `produced 150 records to T`, and what run would reject; exit 65 when it would reject all. */
function produceSummary(config: Config, topic: string, sent: number, check: RecordCheck): number {
  const lines = [`produced ${sent.toLocaleString('en')} records to ${topic}`];
  const invalid = check.invalidCount;
  if (invalid > 0) {
    const asFile: Config = { ...config, source: 'file' };
    lines[0] +=
      `; ${invalid.toLocaleString('en')} of them (${((100 * invalid) / sent).toFixed(1)} %) ` +
      'will be dead-lettered by run, as decoded with these settings:';
    lines.push(...invalidLines(check.invalid.byReason(), asFile));
    if (isCsv(config.file)) {
      const columns = resolveFileSource(asFile).decode.fields;
      lines.push(`  features[i] is the column: ${columns.map((c, i) => `${i} ${c}`).join(', ')}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  const verdict = badData(config, { recordsAssigned: sent - invalid, recordsInvalid: invalid });
  if (verdict === undefined) return 0;
  process.stderr.write(`streamclust produce: ${verdict}\n`);
  return EXIT_BAD_DATA;
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
  check: RecordCheck,
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
          check.add(chunk.records);
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
