import { createHash } from 'node:crypto';

/*
 * Encoding helpers for store snapshots. Float arrays travel as base64 of their little-endian
 * bytes: exact (no decimal round trip), a third the size of a JSON number list, and the
 * snapshot names the encoding next to each array so a reader in another language can decode it.
 */

export interface EncodedArray {
  readonly encoding: 'f64le-base64' | 'f32le-base64' | 'i32le-base64';
  readonly length: number;
  readonly data: string;
}

function littleEndianBytes(a: Float64Array | Float32Array | Int32Array): Buffer {
  const buf = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  // Every platform Node supports in practice is little-endian; swap on the rare one that is not.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return Buffer.from(buf);
  const copy = Buffer.from(buf);
  if (a instanceof Float64Array) copy.swap64();
  else copy.swap32();
  return copy;
}

export function encodeArray(a: Float64Array | Float32Array | Int32Array): EncodedArray {
  const encoding =
    a instanceof Float64Array
      ? 'f64le-base64'
      : a instanceof Float32Array
        ? 'f32le-base64'
        : 'i32le-base64';
  return { encoding, length: a.length, data: littleEndianBytes(a).toString('base64') };
}

function decodeBytes(e: EncodedArray, width: number, name: string): Buffer {
  const buf = Buffer.from(e.data, 'base64');
  if (buf.length !== e.length * width) {
    throw new Error(
      `snapshot field ${name}: ${buf.length} bytes decoded, ${e.length * width} expected (${e.length} × ${width})`,
    );
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    if (width === 8) buf.swap64();
    else buf.swap32();
  }
  return buf;
}

function expectEncoding(e: EncodedArray, encoding: EncodedArray['encoding'], name: string): void {
  if (e === null || typeof e !== 'object' || e.encoding !== encoding) {
    throw new Error(
      `snapshot field ${name}: expected encoding ${encoding}, got ${String(e?.encoding)}`,
    );
  }
}

export function decodeF64(e: EncodedArray, name: string): Float64Array {
  expectEncoding(e, 'f64le-base64', name);
  const b = decodeBytes(e, 8, name);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function decodeF32(e: EncodedArray, name: string): Float32Array {
  expectEncoding(e, 'f32le-base64', name);
  const b = decodeBytes(e, 4, name);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function decodeI32(e: EncodedArray, name: string): Int32Array {
  expectEncoding(e, 'i32le-base64', name);
  const b = decodeBytes(e, 4, name);
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** JSON with object keys sorted, so the checksum survives stores that reorder keys. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
