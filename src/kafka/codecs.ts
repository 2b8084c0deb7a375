/**
 * Snappy, LZ4 and zstd for kafkajs. kafkajs implements gzip only: a batch in any other codec
 * throws KafkaJSNotImplemented inside the fetch, which crashes the consumer on every start.
 * `registerKafkaCodecs()` puts all three into kafkajs' process-wide `CompressionCodecs` table,
 * and gzip too (the same zlib calls as kafkajs' own) so that every codec fails the same way: a
 * KafkaCodecError, never retried. `kafkaClientConfig` calls it, so every client streamclust
 * builds reads and writes all five.
 *
 * The formats are the ones Kafka's Java client writes and reads:
 * - snappy: snappy-java's stream framing (SnappyOutputStream), not a bare snappy block. A 16-byte
 *   header (0x82 "SNAPPY" 0x00, then version 1 and compatible version 1 as big-endian int32),
 *   then chunks of [big-endian int32 length][raw snappy block of up to 32 KiB of input]. Other
 *   clients (librdkafka, the kafkajs snappy plugins) send one bare block instead, which the
 *   Java reader (SnappyInputStream) also accepts: we read both, and write the framing.
 * - lz4: the LZ4 frame format with a correct header checksum (KIP-57, record format v1 and up).
 * - zstd: standard zstd frames.
 * The native packages (snappy, lz4-napi, @mongodb-js/zstd) ship prebuilt binaries as optional
 * npm dependencies: nothing is compiled or downloaded from elsewhere at install.
 */
import { promisify } from 'node:util';
import { gzip, unzip } from 'node:zlib';

import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
// kafkajs is CommonJS, and Node's ESM loader does not detect CompressionCodecs as a named export.
import kafkajs, { CompressionTypes } from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

import { StreamclustError } from '../errors.js';

export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The shape kafkajs calls: `compress` gets its Encoder, `decompress` a batch's record bytes. */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** A batch could not be compressed or decompressed; retrying reads the same bytes again. */
export class KafkaCodecError extends StreamclustError {
  readonly codec: string;

  constructor(codec: string, message: string, cause?: unknown) {
    super(`${codec}: ${message}`, { retriable: false, cause });
    this.codec = codec;
  }
}

/** snappy-java's stream magic; a bare snappy block cannot start with it (see unframeSnappy). */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default block size, the most input one chunk holds. */
export const XERIAL_CHUNK_BYTES = 32 * 1024;

/** Snappy in snappy-java's stream framing, `chunkBytes` of input per chunk. */
export async function frameSnappy(
  input: Buffer,
  chunkBytes: number = XERIAL_CHUNK_BYTES,
): Promise<Buffer> {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  const parts: Buffer[] = [header];
  for (let start = 0; start < input.length; start += chunkBytes) {
    const block = await snappyCompress(input.subarray(start, start + chunkBytes));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/**
 * Decompresses snappy-java's stream framing, or a bare snappy block. A bare block starts with
 * the varint of its uncompressed length: in the magic that is 0x82 0x53, and the next byte, 0x4e,
 * would make the first element a copy, which no valid block starts with, so the magic cannot be
 * mistaken for a block. Concatenated streams (a second header where a chunk length would be)
 * are read as snappy-java does.
 */
export async function unframeSnappy(input: Buffer): Promise<Buffer> {
  if (!isXerialHeaderAt(input, 0)) return snappyBlock(input, 0);
  const parts: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    if (isXerialHeaderAt(input, at)) {
      if (input.length - at < XERIAL_HEADER_BYTES) {
        throw new Error(`the stream header at byte ${at} is cut short`);
      }
      at += XERIAL_HEADER_BYTES;
      continue;
    }
    if (input.length - at < 4) {
      throw new Error(
        `a chunk length at byte ${at} is cut short (${input.length - at} bytes left)`,
      );
    }
    const length = input.readInt32BE(at);
    const available = input.length - at - 4;
    if (length < 0 || length > available) {
      throw new Error(
        `the chunk at byte ${at} declares ${length} bytes but ${available} bytes follow`,
      );
    }
    // An empty chunk holds nothing (an empty snappy block is one byte, not zero).
    if (length > 0) parts.push(await snappyBlock(input.subarray(at + 4, at + 4 + length), at));
    at += 4 + length;
  }
  return Buffer.concat(parts);
}

function isXerialHeaderAt(input: Buffer, at: number): boolean {
  return (
    input.length - at >= XERIAL_MAGIC.length &&
    input.subarray(at, at + XERIAL_MAGIC.length).equals(XERIAL_MAGIC)
  );
}

async function snappyBlock(block: Buffer, at: number): Promise<Buffer> {
  try {
    return Buffer.from(await snappyUncompress(block, { asBuffer: true }));
  } catch (error) {
    throw new Error(`the snappy block at byte ${at} is invalid (${String(error)})`, {
      cause: error,
    });
  }
}

/** Wraps failures in KafkaCodecError, naming the codec and the size of what it was given. */
function codec(
  name: string,
  compress: (input: Buffer) => Promise<Buffer>,
  decompress: (input: Buffer) => Promise<Buffer>,
): KafkaCodec {
  return {
    async compress(encoder) {
      try {
        return await compress(encoder.buffer);
      } catch (error) {
        throw new KafkaCodecError(name, `cannot compress ${encoder.buffer.length} bytes`, error);
      }
    },
    async decompress(buffer) {
      try {
        return await decompress(buffer);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new KafkaCodecError(
          name,
          `cannot decompress a record batch of ${buffer.length} bytes: ${reason}`,
          error,
        );
      }
    },
  };
}

const gzipAsync = promisify(gzip);
const unzipAsync = promisify(unzip);
export const gzipCodec = codec(
  'gzip',
  (b) => gzipAsync(b),
  (b) => unzipAsync(b),
);
export const snappyCodec = codec('snappy', (b) => frameSnappy(b), unframeSnappy);
export const lz4Codec = codec(
  'lz4',
  (b) => compressFrame(b),
  (b) => decompressFrame(b),
);
// @mongodb-js/zstd 1.2.2 takes no level: zstd's default, 3, the same as Kafka's.
export const zstdCodec = codec(
  'zstd',
  (b) => zstdCompress(b),
  (b) => zstdDecompress(b),
);

let registered = false;

/** Puts gzip, snappy, lz4 and zstd into kafkajs' codec table. Idempotent; process-wide. */
export function registerKafkaCodecs(): void {
  if (registered) return;
  const { CompressionCodecs } = kafkajs;
  CompressionCodecs[CompressionTypes.GZIP] = () => gzipCodec;
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
  registered = true;
}

/** The kafkajs compression type of a `kafka.compression` value. */
export function compressionType(name: KafkaCompression): CompressionTypes {
  const types = {
    none: CompressionTypes.None,
    gzip: CompressionTypes.GZIP,
    snappy: CompressionTypes.Snappy,
    lz4: CompressionTypes.LZ4,
    zstd: CompressionTypes.ZSTD,
  } as const;
  return types[name];
}

/**
 * The codec named by a consumer crash that came from a batch it could not decompress: our
 * KafkaCodecError, or kafkajs' KafkaJSNotImplemented for a codec nobody registered. Looks
 * through `cause` and `originalError`. kafkajs' retrier rethrows a non-retriable error as a
 * KafkaJSNonRetriableError with its message and *its* cause, so ours is found by its message.
 */
export function unreadableCodec(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (current instanceof KafkaCodecError) return current.codec;
    const ours = /^(gzip|snappy|lz4|zstd): cannot decompress a record batch/.exec(current.message);
    if (ours?.[1] !== undefined) return ours[1];
    const notImplemented = /^(\w+) compression not implemented/i.exec(current.message);
    if (current.name === 'KafkaJSNotImplemented' && notImplemented?.[1] !== undefined) {
      return notImplemented[1].toLowerCase();
    }
    const wrapper = current as Error & { originalError?: unknown };
    current = wrapper.originalError ?? current.cause;
  }
  return undefined;
}
