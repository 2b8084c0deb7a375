import { randomBytes } from 'node:crypto';

import kafkajs, { CompressionTypes } from 'kafkajs';
import { compressSync, uncompressSync } from 'snappy';
import { describe, expect, it } from 'vitest';

import {
  compressionType,
  frameSnappy,
  gzipCodec,
  KafkaCodecError,
  lz4Codec,
  registerKafkaCodecs,
  snappyCodec,
  unframeSnappy,
  unreadableCodec,
  XERIAL_CHUNK_BYTES,
  zstdCodec,
  type KafkaCodec,
} from '../../../src/kafka/codecs.js';

/** Repetitive text like a batch of JSON records, with random bytes mixed in. */
function sample(bytes: number): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const part =
      i % 7 === 0
        ? randomBytes(64)
        : Buffer.from(`{"features":[${i},${i * 0.5}],"label":${i % 5}}`);
    parts.push(part);
    length += part.length;
  }
  return Buffer.concat(parts).subarray(0, bytes);
}

/**
 * Written by snappy-java 1.1.10.7 (the version Kafka 4.1.1 ships), block size 1 KiB, four chunks:
 *   StringBuilder text = new StringBuilder();
 *   for (int i = 0; i < 150; i++) text.append("record ").append(i).append(" streamclust;");
 *   try (SnappyOutputStream snappy = new SnappyOutputStream(out, 1024)) {
 *     snappy.write(text.toString().getBytes(StandardCharsets.UTF_8));
 *   }
 */
const JAVA_XERIAL_HEX = [
  '82534e41505059000000000100000001000001098008507265636f726420302073747265616d636c7573743b0d150031',
  '4e150000324e150000334e150000344e150000354e150000364e150000374e150000384e150000394e1500003156d300',
  '52d400003152d500003152d600003152d700003152d800003152d900003152da00003152db00003152dc00003252dc00',
  '003252dc00003252dc00003252dc00003252dc00003252dc00003252dc00003252dc00003252dc00003252dc00003352',
  'dc00003352dc00003352dc00003352dc00003352dc00003352dc00003352dc00003352dc00003352dc00003352dc0000',
  '3452dc00003452dc00003452dc00003452dc00003452dc00003452dc003834362073747265616d636c7573743b000001',
  '018008547265636f72642034372073747265616d636c7573743b1116003852160000394e160004353052160000315216',
  '000032521600003352160000345216000035521600003652160052dc00003552dc00003552dc00003652dc00003652dc',
  '00003652dc00003652dc00003652dc00003652dc00003652dc00003652dc00003652dc00003652dc00003752dc000037',
  '52dc00003752dc00003752dc00003752dc00003752dc00003752dc00003752dc00003752dc00003752dc00003852dc00',
  '003852dc00003852dc00003852dc00003852dc00003852dc00003852dc00003852dc00003852dc00003852dc00003952',
  'dc00003952dc00003952dc00103933207374000000f88008547265616d636c7573743b7265636f726420393420737446',
  '1600003552160000365216000037521600003852160000394e1600083130305617000031561700003256170000335617',
  '0052e10004313052e20004313052e30004313052e40004313052e50004313056e600003156e600003156e600003156e6',
  '00003156e600003156e600003156e600003156e600003156e600003156e600003156e600003256e600003256e6000032',
  '56e600003256e600003256e600003256e600003256e600003256e600003256e600003256e600003356e600003356e600',
  '003356e600003356e600003356e600003356e600003356e600003356e6000000005b8c026033382073747265616d636c',
  '7573743b7265636f72642031333952170004343056170000315617000032561700003356170000345617000035561700',
  '0036561700003756170056e6003834392073747265616d636c7573743b',
].join('');
const JAVA_XERIAL_TEXT = Array.from({ length: 150 }, (_, i) => `record ${i} streamclust;`).join('');

/** Chunks of a xerial stream, read with nothing but the layout: [int32 BE length][block]. */
function xerialChunks(framed: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 16; at < framed.length;) {
    const length = framed.readInt32BE(at);
    chunks.push(framed.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return chunks;
}

const codecs: [string, KafkaCodec][] = [
  ['gzip', gzipCodec],
  ['snappy', snappyCodec],
  ['lz4', lz4Codec],
  ['zstd', zstdCodec],
];

describe('Kafka codecs', () => {
  it.each(codecs)('%s: round trips small, large and incompressible batches', async (_, codec) => {
    for (const input of [Buffer.from('x'), sample(200_000), randomBytes(70_000)]) {
      const compressed = await codec.compress({ buffer: input });
      expect((await codec.decompress(compressed)).equals(input)).toBe(true);
    }
  });

  it('registers the three codecs into kafkajs once, and the same objects on every call', () => {
    registerKafkaCodecs();
    registerKafkaCodecs();
    const { CompressionCodecs } = kafkajs;
    expect(CompressionCodecs[CompressionTypes.GZIP]()).toBe(gzipCodec);
    expect(CompressionCodecs[CompressionTypes.Snappy]()).toBe(snappyCodec);
    expect(CompressionCodecs[CompressionTypes.LZ4]()).toBe(lz4Codec);
    expect(CompressionCodecs[CompressionTypes.ZSTD]()).toBe(zstdCodec);
  });

  it('maps kafka.compression values to kafkajs types', () => {
    expect(
      ['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((c) => compressionType(c as never)),
    ).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('snappy framing (snappy-java SnappyOutputStream)', () => {
  it('writes the 16-byte header and one [length][block] chunk per 32 KiB of input', async () => {
    const input = sample(2 * XERIAL_CHUNK_BYTES + 100);
    const framed = await frameSnappy(input);
    expect(framed.subarray(0, 16).toString('hex')).toBe('82534e41505059000000000100000001');
    const chunks = xerialChunks(framed);
    expect(chunks).toHaveLength(3);
    const blocks = chunks.map((c) => uncompressSync(c) as Buffer);
    expect(blocks.map((b) => b.length)).toEqual([XERIAL_CHUNK_BYTES, XERIAL_CHUNK_BYTES, 100]);
    expect(Buffer.concat(blocks).equals(input)).toBe(true);
  });

  it('reads what snappy-java wrote: four chunks', async () => {
    const framed = Buffer.from(JAVA_XERIAL_HEX, 'hex');
    expect(xerialChunks(framed)).toHaveLength(4);
    expect((await snappyCodec.decompress(framed)).toString('utf8')).toBe(JAVA_XERIAL_TEXT);
  });

  it('reads a bare snappy block, as librdkafka and the kafkajs plugins write it', async () => {
    const input = sample(50_000);
    expect((await unframeSnappy(compressSync(input))).equals(input)).toBe(true);
  });

  it('reads concatenated streams and skips empty chunks', async () => {
    const a = sample(40_000);
    const b = Buffer.from('second stream');
    const empty = Buffer.from([0, 0, 0, 0]);
    const framed = Buffer.concat([await frameSnappy(a), empty, await frameSnappy(b)]);
    expect((await unframeSnappy(framed)).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('rejects corrupt input with a KafkaCodecError that says what is wrong and where', async () => {
    const framed = await frameSnappy(sample(40_000));
    const cases: [Buffer, RegExp][] = [
      [
        framed.subarray(0, framed.length - 5),
        /^snappy: cannot decompress a record batch of \d+ bytes: the chunk at byte \d+ declares \d+ bytes but \d+ bytes follow$/,
      ],
      [framed.subarray(0, 18), /a chunk length at byte 16 is cut short \(2 bytes left\)/],
      [framed.subarray(0, 12), /the stream header at byte 0 is cut short/],
      [Buffer.from('definitely not snappy'), /the snappy block at byte 0 is invalid/],
    ];
    for (const [input, message] of cases) {
      const error = await snappyCodec.decompress(input).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KafkaCodecError);
      expect((error as KafkaCodecError).retriable).toBe(false);
      expect((error as KafkaCodecError).codec).toBe('snappy');
      expect((error as Error).message).toMatch(message);
    }
    // A corrupt block inside a valid frame: its position is named.
    const corrupt = Buffer.from(framed);
    corrupt.fill(0xff, 21, 40);
    await expect(snappyCodec.decompress(corrupt)).rejects.toThrow(
      /the snappy block at byte 16 is invalid/,
    );
  });

  it('lz4 and zstd reject garbage with a KafkaCodecError naming the codec', async () => {
    await expect(lz4Codec.decompress(Buffer.from('not lz4'))).rejects.toThrow(
      /^lz4: cannot decompress a record batch of 7 bytes: /,
    );
    await expect(zstdCodec.decompress(Buffer.from('not zstd'))).rejects.toThrow(
      /^zstd: cannot decompress a record batch of 8 bytes: /,
    );
  });
});

describe('unreadableCodec', () => {
  it('finds the codec in our errors, kafkajs NotImplemented errors and their wrappers', async () => {
    const ours = await lz4Codec.decompress(Buffer.from('not lz4')).then(
      () => undefined,
      (e: unknown) => e as KafkaCodecError,
    );
    const notImplemented = Object.assign(new Error('Snappy compression not implemented'), {
      name: 'KafkaJSNotImplemented',
    });
    const retried = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      originalError: ours,
    });
    // What kafkajs' retrier rethrows for a non-retriable error: our message, our cause.
    const bailed = new kafkajs.KafkaJSNonRetriableError(ours!);
    Object.assign(bailed, { cause: ours!.cause });
    expect(unreadableCodec(ours)).toBe('lz4');
    expect(unreadableCodec(bailed)).toBe('lz4');
    expect(unreadableCodec(notImplemented)).toBe('snappy');
    expect(unreadableCodec(retried)).toBe('lz4');
    expect(unreadableCodec(new Error('wrapped', { cause: notImplemented }))).toBe('snappy');
    expect(unreadableCodec(new Error('Connection error'))).toBeUndefined();
    expect(unreadableCodec('a string')).toBeUndefined();
  });
});
