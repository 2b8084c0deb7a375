// snappy, lz4 and zstd against Kafka's own Java client: records the Java console producer
// compressed are read and assigned, outputs written with every kafka.compression value are read
// back by kafkajs and by the Java console consumer, and a batch that cannot be decompressed
// stops the source with a report naming topic, partition and committed offset.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import kafkajs, { CompressionTypes } from 'kafkajs';
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';

import { produceMain } from '../../src/commands/produce.js';
import { validateConfig } from '../../src/config/load-config.js';
import { describeRefusal } from '../../src/errors.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import { createKafkaSink } from '../../src/sinks/kafka-sink.js';
import type { Assignment } from '../../src/sinks/sink.js';
import {
  lz4Codec,
  registerKafkaCodecs,
  snappyCodec,
  XERIAL_MAGIC,
  zstdCodec,
  type KafkaCodec,
  type KafkaCompression,
} from '../../src/kafka/codecs.js';
import { createKafkaSource } from '../../src/sources/kafka-source.js';
import { RecordChunk } from '../../src/sources/source.js';
import { checkCoverage, pipelineTopics, runUntilDrained } from '../helpers/fault-records.js';
import { kafkaLibs, runKafkaTool } from '../helpers/java-console.js';
import { describeWithKafka, KafkaHelpers, kafkaBrokers, uniqueName } from '../helpers/kafka.js';
import { mixtureRecords } from '../helpers/mixture-records.js';
import { PLUMBING_TRAINING } from '../helpers/plumbing.js';

const JAVA_CODECS = ['snappy', 'lz4', 'zstd'] as const;
const CODECS: Record<(typeof JAVA_CODECS)[number], KafkaCodec> = {
  snappy: snappyCodec,
  lz4: lz4Codec,
  zstd: zstdCodec,
};

/** Chunks in a snappy-java stream: [int32 BE length][block] after the 16-byte header. */
function xerialChunkCount(framed: Buffer): number {
  let count = 0;
  for (let at = 16; at + 4 <= framed.length; at += 4 + framed.readInt32BE(at)) count += 1;
  return count;
}

function assignment(topic: string, i: number, key: string): Assignment {
  return {
    record: {
      topic,
      partition: 0,
      offset: String(i),
      key: Buffer.from(key),
      value: Buffer.from('{}'),
      timestamp: 1_700_000_000_000 + i,
      chunk: new RecordChunk(),
    },
    clusterId: i % 3,
    distance: 0.25 + i / 1000,
    outlier: false,
    modelVersion: 1,
    storeVersion: 1,
  };
}

describeWithKafka('compressed records: snappy, lz4 and zstd as the Java client writes them', () => {
  let libs = '';
  let kafka: KafkaHelpers;

  beforeAll(async () => {
    libs = await kafkaLibs();
    kafka = new KafkaHelpers(kafkaBrokers());
    registerKafkaCodecs();
  }, 600_000);

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('assigns every record the Java console producer wrote with snappy, lz4 and zstd', async () => {
    const topics = pipelineTopics('compressed');
    await kafka.createTopic(topics.inputTopic, 1);
    // 300 records of about 180 bytes per codec, one batch each: a snappy batch holds two
    // snappy-java chunks of 32 KiB.
    const { records } = mixtureRecords({ count: 900, clusters: 3, dim: 8, seed: 31 });
    await Promise.all(
      JAVA_CODECS.map((codec, c) => {
        const lines = records.slice(c * 300, (c + 1) * 300).map((r) => `${r.key}|${r.value}`);
        return runKafkaTool(
          libs,
          'org.apache.kafka.tools.ConsoleProducer',
          [
            ...['--bootstrap-server', kafka.brokers.join(','), '--topic', topics.inputTopic],
            ...['--compression-codec', codec, '--batch-size', '1048576'],
            ...['--property', 'parse.key=true', '--property', 'key.separator=|'],
          ],
          lines.join('\n') + '\n',
        );
      }),
    );
    const decompressed = JAVA_CODECS.map((codec) => vi.spyOn(CODECS[codec], 'decompress'));

    const config = validateConfig({
      source: 'kafka',
      kafka: { brokers: kafka.brokers, ...topics, compression: 'zstd' },
      cluster: { k: 3, warmupSize: 300 },
      training: PLUMBING_TRAINING,
      http: { enabled: false },
      log: { level: 'silent', statusIntervalMs: 0 },
    });
    const pipeline = await createPipeline(config, {
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await runUntilDrained(pipeline, kafka, topics);

    // Each codec's batches went through our decompression, not a fallback; snappy's came in
    // snappy-java's framing, several chunks to a batch.
    for (const [c, spy] of decompressed.entries()) {
      expect(spy, `${JAVA_CODECS[c]} decompress calls`).toHaveBeenCalled();
    }
    const snappyBatches = decompressed[0]!.mock.calls.map(([b]) => b);
    expect(snappyBatches.every((b) => b.subarray(0, 8).equals(XERIAL_MAGIC))).toBe(true);
    expect(Math.max(...snappyBatches.map(xerialChunkCount))).toBeGreaterThan(1);
    const coverage = await checkCoverage(kafka, topics, new Map());
    expect(coverage.produced).toBe(900);
    expect(coverage.unassigned).toEqual([]);
    expect(coverage.deadLetters).toBe(0);
  });

  it('writes outputs with every kafka.compression value, read back by kafkajs and Java', async () => {
    const values: KafkaCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    const written = new Map<KafkaCompression, { topic: string; keys: string[] }>();
    const compressed = JAVA_CODECS.map((codec) => vi.spyOn(CODECS[codec], 'compress'));
    for (const compression of values) {
      const topics = pipelineTopics(`out-${compression}`);
      const config = validateConfig({
        kafka: { brokers: kafka.brokers, ...topics, compression },
      });
      const sink = await createKafkaSink(config.kafka, silentLogger, true);
      // 400 assignments of about 200 bytes: snappy writes three chunks.
      const keys = Array.from({ length: 400 }, (_, i) => `${compression}-${i}`);
      try {
        await sink.write({
          assignments: keys.map((key, i) => assignment(topics.inputTopic, i, key)),
          deadLetters: [
            {
              record: { ...assignment(topics.inputTopic, 400, `${compression}-bad`).record },
              reason: 'malformed_json',
              message: 'test',
            },
          ],
          events: [{ type: 'lifecycle', kind: 'born', detail: { cluster: 1 }, at: 1 }],
        });
      } finally {
        await sink.close();
      }
      const [assignments, deadLetters, events] = await Promise.all([
        kafka.readAll(topics.assignmentsTopic),
        kafka.readAll(topics.deadLetterTopic),
        kafka.readAll(topics.eventsTopic),
      ]);
      expect(assignments.map((r) => r.key).sort(), compression).toEqual([...keys].sort());
      const first = JSON.parse(assignments.find((r) => r.key === keys[0])!.value!.toString());
      expect(first).toMatchObject({ key: keys[0], offset: '0', clusterId: 0 });
      expect(deadLetters.map((r) => r.key)).toEqual([`${compression}-bad`]);
      expect(events.map((r) => r.key)).toEqual(['lifecycle.born']);
      written.set(compression, { topic: topics.assignmentsTopic, keys });
    }
    for (const [c, spy] of compressed.entries()) {
      expect(spy, `${JAVA_CODECS[c]} compress calls`).toHaveBeenCalled();
    }

    // Kafka's Java consumer reads what kafkajs wrote with our snappy framing, lz4 and zstd.
    const javaTopics = JAVA_CODECS.map((codec) => written.get(codec)!);
    const expected = javaTopics.flatMap((t) => t.keys);
    const output = await runKafkaTool(libs, 'org.apache.kafka.tools.consumer.ConsoleConsumer', [
      ...['--bootstrap-server', kafka.brokers.join(',')],
      ...['--include', javaTopics.map((t) => t.topic.replace(/\./g, '\\.')).join('|')],
      ...['--from-beginning', '--max-messages', String(expected.length), '--timeout-ms', '30000'],
      ...['--property', 'print.key=true', '--property', 'key.separator=|'],
    ]);
    const read = output
      .split('\n')
      .filter((line) => line.includes('|'))
      .map((line) => {
        const [key, value] = [line.slice(0, line.indexOf('|')), line.slice(line.indexOf('|') + 1)];
        expect(JSON.parse(value)).toMatchObject({ key });
        return key;
      });
    expect(read.sort()).toEqual([...expected].sort());
  });

  it('streamclust produce compresses with kafka.compression', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'streamclust-produce-'));
    const file = path.join(dir, 'records.jsonl');
    const configFile = path.join(dir, 'streamclust.yaml');
    writeFileSync(configFile, 'kafka:\n  compression: lz4\n');
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ features: [i, 1] }));
    writeFileSync(file, lines.join('\n') + '\n');
    const topic = uniqueName('produce-lz4');
    const compress = vi.spyOn(lz4Codec, 'compress');
    // Its progress bar and summary line.
    const quiet = [process.stdout, process.stderr].map((s) =>
      vi.spyOn(s, 'write').mockImplementation(() => true),
    );
    const status = await produceMain([
      ...['--file', file, '--topic', topic, '--brokers', kafka.brokers.join(',')],
      // One partition, so the records read back in file order.
      ...['--config', configFile, '--log-level', 'silent', '--partitions', '1'],
    ]).finally(() => quiet.forEach((spy) => spy.mockRestore()));
    expect(status).toBe(0);
    expect(compress).toHaveBeenCalled();
    const read = await kafka.readAll(topic);
    expect(read.map((r) => r.value!.toString())).toEqual(lines);
  });

  it('stops with a report naming topic, partition and committed offset on a corrupt batch', async () => {
    const topic = uniqueName('corrupt-input');
    const groupId = uniqueName('corrupt-group');
    await kafka.createTopic(topic, 1);
    const producer = kafka.createKafka().producer();
    await producer.connect();
    await producer.send({
      topic,
      compression: CompressionTypes.Snappy,
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `{"features": [${i}, 1]}` })),
    });
    await producer.disconnect();
    const admin = kafka.createKafka().admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();

    // The broker validates what it stores, so a corrupt batch is simulated on the way in: the
    // codec sees the batch's bytes with the last five cut off.
    const { CompressionCodecs } = kafkajs;
    const registered = CompressionCodecs[CompressionTypes.Snappy];
    CompressionCodecs[CompressionTypes.Snappy] = () => ({
      compress: snappyCodec.compress,
      decompress: (b: Buffer) => snappyCodec.decompress(b.subarray(0, b.length - 5)),
    });
    const lines: string[] = [];
    const config = validateConfig({
      source: 'kafka',
      kafka: { brokers: kafka.brokers, inputTopic: topic, groupId },
    });
    const source = createKafkaSource(
      config.kafka,
      createLogger('error', (line) => lines.push(line)),
    );
    try {
      const failure = await firstValueFrom(source.chunks).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(failure)).toMatch(/snappy: cannot decompress a record batch of \d+ bytes/);
      // A permanent refusal: the CLI stops with exit code 69 and this one line.
      expect(describeRefusal(failure)).toMatch(/cannot be read .* Fix: the snappy bytes/);
    } finally {
      CompressionCodecs[CompressionTypes.Snappy] = registered;
      await source.close();
    }
    const report = lines.find((l) => l.includes('a record batch cannot be read; stopping'));
    expect(report, lines.join('\n')).toBeDefined();
    expect(report).toContain(`topic=${topic}`);
    expect(report).toContain('partitions=0@0');
    expect(report).toContain('codec=snappy');
    expect(report).toContain('kafka-consumer-groups.sh');
  });
});
