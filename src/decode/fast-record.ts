/**
 * The decoder's fast path: reads a record that is a flat JSON object in plain ASCII straight
 * from its bytes, writing its vector field into the batch's array, with no string for the
 * value, no parsed object and no array of boxed numbers. On the throughput benchmark's records
 * (32 numbers of 17 digits) TextDecoder and JSON.parse took about 6 µs a record on the main
 * thread, most of it turning decimal digits into doubles (`npm run bench -- decode`).
 *
 * It only ever answers for records that JSON.parse reads the same way, and gives up (returns
 * false) on anything else, which the decoder then reads the ordinary way (json-decoder.ts),
 * with the same result or the same error as before. It accepts:
 *
 * - one object, whitespace around any token, members `"key": value` whose keys and string
 *   values are printable ASCII without escapes;
 * - values that are numbers (JSON's grammar exactly), such strings, `true`, `false`, `null`, or
 *   arrays of numbers; a nested object, an array of anything else, a byte outside printable
 *   ASCII, an escape, or a field the decoder reads given twice makes it give up;
 * - a vector field whose length is the decoder's dimension.
 *
 * A feature is stored as the Float32 of the double JSON.parse would give (the decoder's arrays
 * are Float32): up to 19 significant digits and a decimal exponent within ±22 are turned into a
 * double with a relative error below 2⁻⁴⁹ (at most ten roundings of 2⁻⁵³ each), and rounded to
 * Float32. That is the Float32 of the exact double unless the double lies within 2⁻⁴⁷ (relative)
 * of a point halfway between two Float32 values; there, and for any other number, the digits
 * are converted with Number(), as JSON.parse would. Labels, versions and captured values are
 * always converted with Number().
 */

/** What the decoder asks of a record (its configuration). */
export interface FastRecordSpec {
  vectorField: string;
  dim: number;
  labelField: string;
  /** '' when records carry no schema version. */
  schemaVersionField: string;
  /** undefined when no field is captured. */
  captureField: string | undefined;
}

/** A member's value as JSON.parse gives it; null stands for an array of numbers. */
export type FastScalar = number | string | boolean | null;

/** What the fast path read besides the vector (the vector is in the caller's array). */
export interface FastRecord {
  label: FastScalar | undefined;
  version: FastScalar | undefined;
  captured: FastScalar | undefined;
  /** The record has the schema version field, as a scalar. */
  hasVersion: boolean;
  hasCaptured: boolean;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const BACKSLASH = 0x5c;

/** Exact powers of ten as doubles (10²² is the largest that is). */
const POWERS = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** Relative distance from a Float32 halfway point under which Number() decides. */
const NEAR_HALFWAY = 2 ** -47;

/** The spacing of Float32 values for each biased exponent: 2^(e − 150). */
const ULPS = Float64Array.from({ length: 256 }, (_, e) => 2 ** (e - 150));

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);

/** A reader over one record's bytes; reused from record to record (no allocation). */
export class FastRecordReader {
  private bytes: Uint8Array = new Uint8Array(0);
  private at = 0;
  private readonly keys: {
    vector: Uint8Array;
    label: Uint8Array;
    version: Uint8Array;
    capture: Uint8Array | undefined;
  };
  readonly result: FastRecord = {
    label: undefined,
    version: undefined,
    captured: undefined,
    hasVersion: false,
    hasCaptured: false,
  };

  constructor(readonly spec: FastRecordSpec) {
    const ascii = (s: string) => Buffer.from(s, 'latin1');
    this.keys = {
      vector: ascii(spec.vectorField),
      label: ascii(spec.labelField),
      version: ascii(spec.schemaVersionField),
      capture: spec.captureField === undefined ? undefined : ascii(spec.captureField),
    };
  }

  /**
   * Reads `bytes` into `out` at `at` (dim values) and `result`; false when the record is not
   * one the fast path answers for (nothing in `result` is then meaningful).
   */
  read(bytes: Uint8Array, out: Float32Array, at: number): boolean {
    this.bytes = bytes;
    this.at = 0;
    const r = this.result;
    r.label = undefined;
    r.version = undefined;
    r.captured = undefined;
    r.hasVersion = false;
    r.hasCaptured = false;
    let vectorSeen = false;
    let labelSeen = false;
    if (!this.expect(OPEN_BRACE)) return false;
    this.space();
    if (this.bytes[this.at] === CLOSE_BRACE) return false; // no members: no vector
    for (;;) {
      const keyStart = this.at + 1;
      if (!this.string()) return false;
      const keyEnd = this.at - 1;
      if (!this.expect(COLON)) return false;
      this.space();
      if (this.is(keyStart, keyEnd, this.keys.vector)) {
        if (vectorSeen || !this.vector(out, at)) return false;
        vectorSeen = true;
      } else {
        const isLabel = this.is(keyStart, keyEnd, this.keys.label);
        const isVersion =
          this.spec.schemaVersionField !== '' && this.is(keyStart, keyEnd, this.keys.version);
        const capture = this.keys.capture;
        const isCaptured = capture !== undefined && this.is(keyStart, keyEnd, capture);
        // Only the members the decoder reads are turned into values; the others are checked.
        if (!this.scalar(isLabel || isVersion || isCaptured)) return false;
        const v = this.value;
        if (isLabel) {
          if (labelSeen) return false;
          labelSeen = true;
          r.label = v;
        }
        if (isVersion) {
          if (r.hasVersion) return false;
          r.hasVersion = true;
          r.version = v;
        }
        if (isCaptured) {
          if (r.hasCaptured) return false;
          r.hasCaptured = true;
          r.captured = v;
        }
      }
      this.space();
      const next = this.bytes[this.at++];
      if (next === CLOSE_BRACE) break;
      if (next !== COMMA) return false;
      this.space();
    }
    this.space();
    return this.at === this.bytes.length && vectorSeen;
  }

  /** Skips JSON whitespace. */
  private space(): void {
    const b = this.bytes;
    let i = this.at;
    for (;;) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.at = i;
  }

  /** Skips whitespace, then one expected byte. */
  private expect(byte: number): boolean {
    this.space();
    if (this.bytes[this.at] !== byte) return false;
    this.at++;
    return true;
  }

  /** A string of printable ASCII without escapes, quotes included; `at` after it. */
  private string(): boolean {
    const b = this.bytes;
    if (b[this.at] !== QUOTE) return false;
    let i = this.at + 1;
    for (;;) {
      const c = b[i];
      if (c === undefined || c < 0x20 || c > 0x7e || c === BACKSLASH) return false;
      if (c === QUOTE) break;
      i++;
    }
    this.at = i + 1;
    return true;
  }

  /** Whether bytes [start, end) are `key`. */
  private is(start: number, end: number, key: Uint8Array): boolean {
    if (end - start !== key.length) return false;
    const b = this.bytes;
    for (let i = 0; i < key.length; i++) if (b[start + i] !== key[i]) return false;
    return true;
  }

  /** Whether the bytes at `at` are `word` (true, false, null). */
  private word(word: string): boolean {
    const b = this.bytes;
    for (let i = 0; i < word.length; i++) if (b[this.at + i] !== word.charCodeAt(i)) return false;
    this.at += word.length;
    return true;
  }

  /**
   * A scalar or an array of numbers, `at` after it; with `keep`, its value (as JSON.parse gives
   * it; null for an array) in `value`.
   */
  private scalar(keep: boolean): boolean {
    const b = this.bytes;
    const c = b[this.at];
    const start = this.at;
    let value: FastScalar;
    if (c === QUOTE) {
      if (!this.string()) return false;
      if (keep) this.value = Buffer.prototype.latin1Slice.call(b, start + 1, this.at - 1) as string;
      return true;
    }
    if (c === OPEN_BRACKET) {
      if (!this.vector(undefined, 0)) return false;
      value = null;
    } else if (c === 0x74) {
      if (!this.word('true')) return false;
      value = true;
    } else if (c === 0x66) {
      if (!this.word('false')) return false;
      value = false;
    } else if (c === 0x6e) {
      if (!this.word('null')) return false;
      value = null;
    } else {
      if (this.number() === undefined) return false;
      value = keep ? Number(Buffer.prototype.latin1Slice.call(b, start, this.at) as string) : 0;
    }
    if (keep) this.value = value;
    return true;
  }

  /** The last value `scalar` kept. */
  private value: FastScalar = null;

  /**
   * An array of numbers; with `out`, exactly `spec.dim` of them, stored from `at`. Without,
   * only checked (an array of numbers under a field the decoder does not read).
   */
  private vector(out: Float32Array | undefined, at: number): boolean {
    if (this.bytes[this.at] !== OPEN_BRACKET) return false;
    this.at++;
    this.space();
    if (this.bytes[this.at] === CLOSE_BRACKET) {
      this.at++;
      return out === undefined;
    }
    const dim = this.spec.dim;
    let n = 0;
    for (;;) {
      const value = this.number();
      if (value === undefined) return false;
      if (out !== undefined) {
        if (n >= dim) return false;
        out[at + n] = value;
      }
      n++;
      this.space();
      const next = this.bytes[this.at++];
      if (next === CLOSE_BRACKET) break;
      if (next !== COMMA) return false;
      this.space();
    }
    return out === undefined || n === dim;
  }

  /**
   * A number in JSON's grammar, `at` after it: the Float32 of its double (see the file's
   * comment); undefined when the bytes are not a JSON number, or the number is not finite.
   */
  private number(): number | undefined {
    const b = this.bytes;
    const start = this.at;
    let i = start;
    let negative = false;
    if (b[i] === MINUS) {
      negative = true;
      i++;
    }
    let mantissa = 0;
    let digits = 0; // significant digits in mantissa
    let exponent = 0; // decimal exponent to apply to mantissa
    let exact = true; // false once digits were left out of mantissa
    let c = b[i];
    if (c === ZERO) {
      i++;
      c = b[i];
      if (c !== undefined && c >= ZERO && c <= NINE) return undefined; // leading zero
    } else if (c !== undefined && c > ZERO && c <= NINE) {
      while (c !== undefined && c >= ZERO && c <= NINE) {
        if (digits < 19) {
          mantissa = mantissa * 10 + (c - ZERO);
          digits++;
        } else {
          exponent++;
          exact = false;
        }
        c = b[++i];
      }
    } else return undefined;
    if (c === DOT) {
      c = b[++i];
      if (c === undefined || c < ZERO || c > NINE) return undefined;
      while (c !== undefined && c >= ZERO && c <= NINE) {
        if (digits < 19) {
          if (mantissa !== 0 || c !== ZERO) {
            mantissa = mantissa * 10 + (c - ZERO);
            digits++;
          }
          exponent--;
        } else exact = false;
        c = b[++i];
      }
    }
    if (c === LOWER_E || c === UPPER_E) {
      c = b[++i];
      let sign = 1;
      if (c === PLUS || c === MINUS) {
        if (c === MINUS) sign = -1;
        c = b[++i];
      }
      if (c === undefined || c < ZERO || c > NINE) return undefined;
      let e = 0;
      while (c !== undefined && c >= ZERO && c <= NINE) {
        if (e < 100_000) e = e * 10 + (c - ZERO);
        c = b[++i];
      }
      exponent += sign * e;
    }
    this.at = i;
    if (exact && mantissa === 0) return negative ? -0 : 0;
    if (exponent >= -22 && exponent <= 22) {
      const scaled = exponent >= 0 ? mantissa * POWERS[exponent]! : mantissa / POWERS[-exponent]!;
      const value = negative ? -scaled : scaled;
      if (!nearHalfway(value)) return Math.fround(value);
    }
    // Too many digits, an exponent out of the exact powers' range, or near a halfway point.
    const value = Number(Buffer.prototype.latin1Slice.call(b, start, i) as string);
    return Number.isFinite(value) ? Math.fround(value) : undefined;
  }
}

/**
 * Whether `value` lies within NEAR_HALFWAY (relative) of the point halfway between the Float32
 * it rounds to and that Float32's neighbour on its side; also true where Float32 loses
 * precision or range (subnormal, overflow).
 */
function nearHalfway(value: number): boolean {
  f32[0] = value;
  const raw = bits[0]!;
  const biased = (raw >>> 23) & 0xff;
  if (biased === 0 || biased >= 0xfe) return true;
  const ulp = ULPS[biased]!;
  // Exact (Sterbenz): the two are within a factor of two of each other.
  const gap = value - f32[0]!;
  const magnitude = value < 0 ? -value : value;
  // Rounded up in magnitude onto a power of two: the Float32 values below are twice as close.
  const away = (value < 0 ? gap > 0 : gap < 0)
    ? (raw & 0x7fffff) === 0
      ? ulp / 4
      : ulp / 2
    : ulp / 2;
  const distance = (gap < 0 ? -gap : gap) - away;
  return (distance < 0 ? -distance : distance) <= magnitude * NEAR_HALFWAY;
}
