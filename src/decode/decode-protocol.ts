/**
 * Messages between the decode stage and its worker thread (workers/decode-worker.ts). A batch
 * travels as one buffer of the records' values end to end, with their start offsets (n + 1 of
 * them) and a flag per record whose value is null; it comes back as the valid records' features
 * before standardisation in one Float32Array (rows × dim, in input order), one status per
 * record, the failures with their reasons, and the valid records' labels (and captured field)
 * as the records have them. Buffers are transferred, never copied.
 */
import type { DecodeReason, DecoderOptions, ParsedInto } from './json-decoder.js';

export interface DecodeWorkerData {
  options: DecoderOptions;
  captureField: string | undefined;
}

export interface DecodeRequest {
  dim: number;
  values: Uint8Array;
  starts: Int32Array;
  nulls: Uint8Array;
}

export interface DecodeResponse {
  /** rows × dim, the valid records in input order. */
  raw: Float32Array;
  /** 1 where the record decoded, 0 where it failed. */
  ok: Uint8Array;
  failures: { index: number; reason: DecodeReason; message: string }[];
  labels: (number | string | undefined)[];
  captured: (string | number | boolean | null)[] | undefined;
}

/** Packs a batch's values into one buffer: what a DecodeRequest carries. */
export function packValues(values: readonly (Buffer | null)[]): {
  values: Uint8Array;
  starts: Int32Array;
  nulls: Uint8Array;
} {
  const starts = new Int32Array(values.length + 1);
  const nulls = new Uint8Array(values.length);
  let total = 0;
  values.forEach((v, i) => {
    starts[i] = total;
    if (v === null) nulls[i] = 1;
    else total += v.length;
  });
  starts[values.length] = total;
  const packed = new Uint8Array(total);
  values.forEach((v, i) => {
    if (v !== null) packed.set(v, starts[i]!);
  });
  return { values: packed, starts, nulls };
}

/** Decodes a packed batch with a decoder's stateless part (`parseInto`). */
export function decodePacked(
  parseInto: (value: Uint8Array | null, out: Float32Array, at: number) => ParsedInto,
  request: DecodeRequest,
  capture: boolean,
): DecodeResponse {
  const n = request.nulls.length;
  const raw = new Float32Array(n * request.dim);
  const ok = new Uint8Array(n);
  const failures: DecodeResponse['failures'] = [];
  const labels: DecodeResponse['labels'] = [];
  const captured: (string | number | boolean | null)[] = [];
  let rows = 0;
  for (let i = 0; i < n; i++) {
    const value =
      request.nulls[i] === 1
        ? null
        : request.values.subarray(request.starts[i]!, request.starts[i + 1]!);
    const parsed = parseInto(value, raw, rows * request.dim);
    if (!parsed.ok) {
      failures.push({ index: i, reason: parsed.reason, message: parsed.message });
      continue;
    }
    ok[i] = 1;
    labels.push(parsed.label);
    if (capture) captured.push(parsed.captured ?? null);
    rows += 1;
  }
  return {
    // A view of the rows filled: the whole buffer is transferred, the view's length goes along.
    raw: raw.subarray(0, rows * request.dim),
    ok,
    failures,
    labels,
    captured: capture ? captured : undefined,
  };
}
