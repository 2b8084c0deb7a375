/**
 * `streamclust replay --topic T [--from X] [--to Y] [--passes N] [--report dir]`: reads a range
 * of a topic (offsets, partition:offset pairs or ISO times; default everything there is now)
 * with a throwaway consumer group that never commits, runs it through the same pipeline as
 * `run` (training as it goes), writes nothing to Kafka, and stops at the end of the range.
 */
import { randomBytes } from 'node:crypto';

import { Kafka } from 'kafkajs';

import { closest } from '../config/closest.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { firstContactClientConfig } from '../kafka/client.js';
import {
  createKafkaRangeSource,
  parseRangeBound,
  rangeSize,
  resolveRange,
  type PartitionRange,
} from '../sources/replay-source.js';
import {
  EVALUATION_FLAGS,
  evaluationConfig,
  helpFor,
  parseEvaluationFlags,
  type FlagSpec,
} from './evaluation-flags.js';
import { runEvaluationSession } from './evaluation-session.js';

const FLAGS: Record<string, FlagSpec> = {
  topic: { type: 'string', help: 'topic to replay (required)' },
  brokers: {
    type: 'string',
    help: 'Kafka bootstrap servers, comma-separated (also KAFKA_BROKERS)',
  },
  from: { type: 'string', help: 'start: offset, p:offset,... or ISO time (default earliest)' },
  to: { type: 'string', help: 'end, exclusive: offset, p:offset,... or ISO time (default now)' },
  'group-prefix': {
    type: 'string',
    help: 'prefix of the throwaway consumer groups (default streamclust-replay)',
  },
};

export function replayHelp(): string {
  return helpFor(
    'streamclust replay --topic <topic> [--from X] [--to Y] [options]',
    'streamclust replay: re-reads a topic range through the pipeline and writes a metrics report.\n' +
      'It never commits offsets and never writes to Kafka.',
    { ...FLAGS, ...EVALUATION_FLAGS },
  );
}

async function resolveTopicRange(
  config: Config,
  topic: string,
  from: string | undefined,
  to: string | undefined,
): Promise<PartitionRange[]> {
  const start = from === undefined ? undefined : parseRangeBound('--from', from);
  const end = to === undefined ? undefined : parseRangeBound('--to', to);
  const logger = createLogger(config.log.level);
  const admin = new Kafka(firstContactClientConfig(config.kafka, logger)).admin();
  await admin.connect();
  try {
    // At once, by name: asking kafkajs for the offsets of a missing topic retried for a minute
    // and ended in a stack trace without the topic's name.
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
    if (!topics.includes(topic)) {
      const near = closest(topic, topics);
      throw new ConfigError([
        {
          key: '--topic',
          value: JSON.stringify(topic),
          rule: `no such topic on the brokers ${config.kafka.brokers.join(',')}`,
          fix:
            near === undefined
              ? `check the name; the topics there are: ${topics.slice(0, 20).join(', ') || 'none'}${topics.length > 20 ? ', …' : ''}`
              : `did you mean ${near}?`,
        },
      ]);
    }
    return await resolveRange(admin, topic, start, end);
  } finally {
    await admin.disconnect();
  }
}

export async function replayMain(argv: readonly string[]): Promise<number> {
  const flags = parseEvaluationFlags('replay', argv, FLAGS);
  if (flags.help) {
    process.stdout.write(replayHelp() + '\n');
    return 0;
  }
  const topic = flags.values['topic'];
  if (typeof topic !== 'string' || topic === '') {
    throw new ConfigError([
      { key: '--topic', value: '<missing>', rule: 'replay needs a topic', fix: 'pass --topic T' },
    ]);
  }
  const brokers = flags.values['brokers'];
  const overrides: Record<string, unknown> = {
    source: 'kafka',
    'kafka.inputTopic': topic,
    ...(typeof brokers === 'string'
      ? { 'kafka.brokers': brokers.split(',').map((b) => b.trim()) }
      : {}),
  };
  const from = flags.values['from'] as string | undefined;
  const to = flags.values['to'] as string | undefined;
  const range = await resolveTopicRange(evaluationConfig(flags, overrides), topic, from, to);
  const prefix = `${(flags.values['group-prefix'] as string | undefined) ?? 'streamclust-replay'}-${randomBytes(4).toString('hex')}`;
  process.stderr.write(
    `streamclust replay: ${topic} ${range.map((p) => `${p.partition}:[${p.start},${p.end})`).join(' ')} ` +
      `(${rangeSize(range).toLocaleString('en')} offsets), consumer groups ${prefix}-* (never committed)\n`,
  );
  return runEvaluationSession({
    command: 'replay',
    flags,
    overrides,
    kind: 'kafka',
    data: {
      kind: 'kafka',
      name: topic,
      partitions: range,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    },
    openPass: (config, logger, pass) =>
      createKafkaRangeSource({
        kafka: config.kafka,
        topic,
        range,
        logger,
        groupId: `${prefix}-${pass}`,
      }),
  });
}
