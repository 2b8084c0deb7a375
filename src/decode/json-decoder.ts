/**
 * Decodes a raw record (JSON bytes) into a fixed-length feature vector, following the declared
 * schema: either one array field (`decode.vectorField`, default `features`) or a list of numeric
 * fields (`decode.fields`). Anything that does not fit is rejected with a reason code; the
 * pipeline sends it to the dead-letter sink and moves on. Optional running standardisation
 * (Welford's mean and variance) keeps features on one scale while the stream drifts; the
 * standardised values are clipped to ±decode.clip (default 5).
 *
 * A batch is decoded into the caller's arrays (`parseInto`, `acceptInto`); there a flat ASCII
 * record is read straight from its bytes (fast-record.ts), any other the ordinary way
 * (TextDecoder, JSON.parse), with the same result.
 */
import type { Config } from '../config/schema.js';
import { FastRecordReader } from './fast-record.js';

export type DecodeReason =
  | 'null_value'
  | 'empty_value'
  | 'oversize'
  | 'invalid_utf8'
  | 'malformed_json'
  | 'not_an_object'
  | 'missing_field'
  | 'wrong_type'
  | 'non_finite'
  | 'wrong_length'
  | 'schema_version';

export type Decoded =
  | {
      ok: true;
      features: Float32Array;
      label: number | undefined;
      /** The features before standardisation; only when `decode` was asked to keep them. */
      raw?: Float32Array;
      /** The value of the captured field (losses.positives.field), when one is captured. */
      captured?: string | number | boolean | null;
    }
  | { ok: false; reason: DecodeReason; message: string };

/** What `parse` gives: the record's features before standardisation, its label as it is. */
export type Parsed =
  | {
      ok: true;
      raw: Float32Array;
      label: number | string | undefined;
      captured?: string | number | boolean | null;
    }
  | { ok: false; reason: DecodeReason; message: string };

/** What `parseInto` gives: the features went into the caller's array; the label as it is. */
export type ParsedInto =
  | {
      ok: true;
      label: number | string | undefined;
      captured?: string | number | boolean | null;
    }
  | { ok: false; reason: DecodeReason; message: string };

export type DecoderOptions = Config['decode'];

export interface DecoderStatistics {
  count: number;
  mean: number[];
  m2: number[];
  dim: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Failure = { ok: false; reason: DecodeReason; message: string };
type FeaturesOrFailure = { ok: true; features: Float32Array } | Failure;

/** Where `read` puts a record's features: a caller's batch array at a row's offset. */
interface Target {
  out: Float32Array;
  at: number;
}

export class JsonDecoder {
  private readonly options: DecoderOptions;
  private dimension: number;
  private count = 0;
  private mean: Float64Array | undefined;
  private m2: Float64Array | undefined;

  private readonly captureField: string | undefined;
  private readonly labelIds: Map<string, number>;

  /** `captureField`: a field whose raw value is returned with each record (miner positives). */
  constructor(options: DecoderOptions, captureField?: string) {
    this.options = options;
    this.captureField = captureField;
    this.labelIds = new Map(options.labelValues.map((value, id) => [value, id]));
    this.dimension = options.fields.length > 0 ? options.fields.length : options.dim;
  }

  /** The feature dimension: declared, or voted on by the first batch (0 before it). */
  get dim(): number {
    return this.dimension;
  }

  /**
   * Without a declared dimension (`decode.dim` 0, no `decode.fields`), fixes it from the first
   * batch that carries any vector: the length most of its records have (ties: the length seen
   * first). One odd record can then no longer decide the dimension for the whole stream, as the
   * first record alone did; records of other lengths go to the dead letters (wrong_length) when
   * they are decoded. Returns the vote, or undefined when the dimension was already fixed or no
   * record of the batch has a vector.
   */
  voteDimension(
    values: readonly (Buffer | null)[],
  ): { dim: number; agreeing: number; voters: number } | undefined {
    if (this.dimension !== 0) return undefined;
    const counts = new Map<number, number>();
    for (const value of values) {
      const length = this.vectorLength(value);
      if (length !== undefined) counts.set(length, (counts.get(length) ?? 0) + 1);
    }
    let best: [number, number] | undefined;
    for (const entry of counts) if (best === undefined || entry[1] > best[1]) best = entry;
    if (best === undefined) return undefined;
    this.dimension = best[0];
    return {
      dim: best[0],
      agreeing: best[1],
      voters: [...counts.values()].reduce((a, b) => a + b),
    };
  }

  /** The length of a record's vector field when the record would otherwise decode, else undefined. */
  private vectorLength(value: Buffer | null): number | undefined {
    if (value === null || value.length === 0 || value.length > this.options.maxRecordBytes)
      return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(value));
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const vector = (parsed as Record<string, unknown>)[this.options.vectorField];
    if (!Array.isArray(vector) || vector.length === 0) return undefined;
    return vector.every((v) => typeof v === 'number' && Number.isFinite(v))
      ? vector.length
      : undefined;
  }

  /** `keepRaw` returns the features before standardisation with the record. */
  decode(value: Buffer | null, keepRaw = false): Decoded {
    const parsed = this.parse(value);
    if (!parsed.ok) return parsed;
    return this.accept(parsed.raw, parsed.label, parsed.captured, keepRaw, true);
  }

  /**
   * The part of decoding that needs no running state, which a decode worker does
   * (decode-worker.ts): the value checked and parsed, its features read (before
   * standardisation), its label and captured field as they are in the record.
   */
  parse(value: Buffer | Uint8Array | null): Parsed {
    return this.read(value, undefined);
  }

  /**
   * `parse` for a batch: the features (before standardisation) go into `out` at `at`, `dim`
   * values, with no array of their own. The dimension must be known (declared, voted or fixed
   * by an earlier record). After a failure `out` may hold part of the record: the next one
   * overwrites it.
   */
  parseInto(value: Buffer | Uint8Array | null, out: Float32Array, at: number): ParsedInto {
    if (this.dimension === 0)
      throw new RangeError('parseInto: the feature dimension is not known yet');
    return this.readFast(value, out, at) ?? this.read(value, { out, at });
  }

  /** Records read by the fast path (fast-record.ts) so far. */
  fastRecords = 0;

  /**
   * The fast path, for a record whose vector field has the decoder's dimension: undefined where
   * it does not answer, and the record is read the ordinary way (the same result or error).
   */
  private readFast(
    value: Buffer | Uint8Array | null,
    out: Float32Array,
    at: number,
  ): ParsedInto | undefined {
    const { options } = this;
    if (value === null || value.length === 0 || value.length > options.maxRecordBytes) return;
    if (options.fields.length > 0) return;
    if (this.fast?.spec.dim !== this.dimension) {
      this.fast = new FastRecordReader({
        vectorField: options.vectorField,
        dim: this.dimension,
        labelField: options.labelField,
        schemaVersionField: options.schemaVersionField,
        captureField: this.captureField,
      });
    }
    if (!this.fast.read(value, out, at)) return;
    const r = this.fast.result;
    // A missing or refused version: the ordinary path says which.
    if (options.schemaVersionField !== '' && !(r.hasVersion && this.accepts(r.version))) return;
    this.fastRecords += 1;
    const label = labelValue(r.label);
    return this.captureField === undefined
      ? { ok: true, label }
      : { ok: true, label, captured: r.captured ?? null };
  }

  /** Whether records of this schema version are read (decode.schemaVersions). */
  private accepts(version: unknown): boolean {
    return this.options.schemaVersions.some((v) => v === version);
  }

  private fast: FastRecordReader | undefined;

  private read(value: Buffer | Uint8Array | null, target: Target | undefined): Parsed {
    if (value === null) return fail('null_value', 'the record has no value (null)');
    if (value.length === 0) return fail('empty_value', 'the record value is empty');
    if (value.length > this.options.maxRecordBytes) {
      return fail(
        'oversize',
        `the value has ${value.length} bytes, above decode.maxRecordBytes (${this.options.maxRecordBytes})`,
      );
    }
    let text: string;
    try {
      text = utf8.decode(value);
    } catch {
      return fail('invalid_utf8', 'the value is not valid UTF-8');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return fail('malformed_json', `the value is not JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return fail('not_an_object', 'the value must be a JSON object');
    }
    const object = parsed as Record<string, unknown>;
    const versionField = this.options.schemaVersionField;
    if (versionField !== '') {
      const version = object[versionField];
      if (!this.accepts(version)) {
        return fail(
          'schema_version',
          version === undefined
            ? `the schema version field "${versionField}" is missing`
            : `schema version ${JSON.stringify(version)} is not one of the accepted ${JSON.stringify(this.options.schemaVersions)}`,
        );
      }
    }
    const raw =
      this.options.fields.length > 0
        ? this.fromFields(object, target)
        : this.fromVector(object, target);
    if (!raw.ok) return raw;
    const label = object[this.options.labelField];
    return {
      ok: true,
      raw: raw.features,
      label: labelValue(label),
      ...(this.captureField === undefined ? {} : { captured: scalar(object[this.captureField]) }),
    };
  }

  /**
   * The part that keeps running state, in input order: the label's id, the features
   * standardised with (and added to) the running statistics. `raw` is standardised in place
   * when `owned` (a fresh array of parse's), else copied first.
   */
  accept(
    raw: Float32Array,
    label: number | string | undefined,
    captured: string | number | boolean | null | undefined,
    keepRaw = false,
    owned = false,
  ): Decoded {
    const kept = keepRaw ? raw.slice() : undefined;
    const features = owned ? raw : raw.slice();
    const decoded: Decoded = {
      ok: true,
      features: this.options.standardize ? this.standardize(features) : features,
      label: this.labelOf(label),
      ...(kept === undefined ? {} : { raw: kept }),
    };
    if (this.captureField !== undefined) decoded.captured = captured ?? null;
    return decoded;
  }

  /**
   * `accept` for a batch: row `row` of `inputs` (rows × dim, before standardisation, left as it
   * is) standardised into the same row of `features`, the running statistics updated. Returns
   * the label's id.
   */
  acceptInto(
    inputs: Float32Array,
    features: Float32Array,
    row: number,
    label: number | string | undefined,
  ): number | undefined {
    const d = this.dimension;
    const at = row * d;
    if (this.options.standardize) this.standardizeInto(inputs, features, at, d);
    else features.set(inputs.subarray(at, at + d), at);
    return this.labelOf(label);
  }

  /** An integer label as it is; a string label its id (decode.labelValues, then first seen). */
  private labelOf(value: unknown): number | undefined {
    if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
    if (typeof value !== 'string' || value === '') return undefined;
    let id = this.labelIds.get(value);
    if (id === undefined) {
      id = this.labelIds.size;
      this.labelIds.set(value, id);
    }
    return id;
  }

  /** The string labels seen (or declared) so far, by id. */
  labelNames(): string[] {
    return [...this.labelIds.keys()];
  }

  private fromVector(object: Record<string, unknown>, target?: Target): FeaturesOrFailure {
    const field = this.options.vectorField;
    if (!(field in object)) return fail('missing_field', `the field "${field}" is missing`);
    const vector = object[field];
    if (!Array.isArray(vector))
      return fail('wrong_type', `the field "${field}" must be an array of numbers`);
    if (vector.length === 0) return fail('wrong_length', `the field "${field}" is an empty array`);
    if (this.dimension !== 0 && vector.length !== this.dimension) {
      return fail(
        'wrong_length',
        `the field "${field}" has ${vector.length} values, expected ${this.dimension}${this.options.dim === 0 ? ' (the length most records of the first batch had; set decode.dim to declare it)' : ''}`,
      );
    }
    const features = target?.out ?? new Float32Array(vector.length);
    const at = target?.at ?? 0;
    for (let i = 0; i < vector.length; i++) {
      const v: unknown = vector[i];
      if (typeof v !== 'number')
        return fail('wrong_type', `${field}[${i}] is ${describe(v)}, not a number`);
      if (!Number.isFinite(v)) return fail('non_finite', `${field}[${i}] is not finite`);
      features[at + i] = v;
    }
    if (this.dimension === 0) this.dimension = vector.length;
    return { ok: true, features };
  }

  private fromFields(object: Record<string, unknown>, target?: Target): FeaturesOrFailure {
    const features = target?.out ?? new Float32Array(this.options.fields.length);
    const at = target?.at ?? 0;
    for (const [i, name] of this.options.fields.entries()) {
      if (!(name in object)) return fail('missing_field', `the field "${name}" is missing`);
      const v = object[name];
      if (typeof v !== 'number')
        return fail('wrong_type', `the field "${name}" is ${describe(v)}, not a number`);
      if (!Number.isFinite(v)) return fail('non_finite', `the field "${name}" is not finite`);
      features[at + i] = v;
    }
    return { ok: true, features };
  }

  private standardize(features: Float32Array): Float32Array {
    this.standardizeInto(features, features, 0, features.length);
    return features;
  }

  /** Standardises `d` values of `from` at `at` into `to` at `at`, updating the statistics. */
  private standardizeInto(from: Float32Array, to: Float32Array, at: number, d: number): void {
    this.mean ??= new Float64Array(d);
    this.m2 ??= new Float64Array(d);
    this.count += 1;
    const mean = this.mean;
    const m2 = this.m2;
    for (let i = 0; i < d; i++) {
      const x = from[at + i] as number;
      const delta = x - (mean[i] as number);
      mean[i] = (mean[i] as number) + delta / this.count;
      m2[i] = (m2[i] as number) + delta * (x - (mean[i] as number));
      const variance = this.count > 1 ? (m2[i] as number) / (this.count - 1) : 1;
      to[at + i] = this.clip(
        (x - (mean[i] as number)) / Math.sqrt(variance > 1e-12 ? variance : 1),
      );
    }
  }

  /**
   * Standardises raw features (rows × dim) with the statistics as they are now, without
   * updating them: the records of the first moments of a stream were standardised with the
   * statistics of a handful of records, and are re-scaled once more have been seen. Returns a
   * new array; the input unchanged when standardisation is off.
   */
  standardizeNow(raw: Float32Array): Float32Array {
    if (!this.options.standardize || this.mean === undefined || this.m2 === undefined) return raw;
    const d = this.mean.length;
    const out = new Float32Array(raw.length);
    for (let i = 0; i < d; i++) {
      const variance = this.count > 1 ? (this.m2[i] as number) / (this.count - 1) : 1;
      const scale = Math.sqrt(variance > 1e-12 ? variance : 1);
      const mean = this.mean[i] as number;
      for (let j = i; j < raw.length; j += d)
        out[j] = this.clip(((raw[j] as number) - mean) / scale);
    }
    return out;
  }

  /**
   * Standardised values clipped to ±decode.clip (0 turns clipping off). A feature that is
   * almost constant has a tiny standard deviation, and its rare other values become huge
   * (|z| up to 42 on digits), which lets that one feature dominate every distance.
   */
  private clip(z: number): number {
    const c = this.options.clip;
    return c > 0 ? Math.max(-c, Math.min(c, z)) : z;
  }

  /** The running statistics, for checkpoints. */
  statistics(): DecoderStatistics {
    return {
      count: this.count,
      mean: [...(this.mean ?? [])],
      m2: [...(this.m2 ?? [])],
      dim: this.dimension,
    };
  }

  /** Continues from statistics a checkpoint saved (the dimension included). */
  restore(stats: DecoderStatistics): void {
    if (this.dimension !== 0 && stats.dim !== 0 && stats.dim !== this.dimension) {
      throw new RangeError(
        `the checkpoint's feature dimension is ${stats.dim}, the configuration declares ${this.dimension}`,
      );
    }
    this.dimension = stats.dim;
    this.count = stats.count;
    this.mean = stats.mean.length === 0 ? undefined : Float64Array.from(stats.mean);
    this.m2 = stats.m2.length === 0 ? undefined : Float64Array.from(stats.m2);
  }
}

function fail(reason: DecodeReason, message: string): Failure {
  return { ok: false, reason, message };
}

/** A label as the record has it: a number or a string, else none. */
function labelValue(v: unknown): number | string | undefined {
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

function scalar(v: unknown): string | number | boolean | null {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 20))}` : `a ${typeof v}`;
}
