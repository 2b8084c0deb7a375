/**
 * The decoder's fast path (fast-record.ts) must give, for every record it answers for, exactly
 * what the ordinary path (TextDecoder, JSON.parse) gives: the same Float32 features bit for bit,
 * the same label and captured value; and leave every other record to the ordinary path, which
 * then gives its result or its error. Each record here is decoded both ways and compared.
 */
import { describe, expect, it } from 'vitest';

import { SeededRandom } from '../../../src/cluster/seeded-random.js';
import { validateConfig } from '../../../src/config/load-config.js';
import { JsonDecoder } from '../../../src/decode/json-decoder.js';

const DIM = 4;

function decoders(decode: Record<string, unknown> = {}, capture?: string) {
  const options = validateConfig({ decode: { dim: DIM, standardize: false, ...decode } }).decode;
  return { fast: new JsonDecoder(options, capture), slow: new JsonDecoder(options, capture) };
}

/** Decodes `text` both ways; returns whether the fast path answered. */
function agree(
  pair: ReturnType<typeof decoders>,
  text: string | Buffer,
): { fast: boolean; ok: boolean } {
  const value = typeof text === 'string' ? Buffer.from(text) : text;
  const out = new Float32Array(DIM + 2).fill(7);
  const before = pair.fast.fastRecords;
  const got = pair.fast.parseInto(value, out, 1);
  const want = pair.slow.parse(value);
  const where = `record ${value.toString('latin1')}`;
  expect(got.ok, where).toBe(want.ok);
  if (!got.ok || !want.ok) {
    expect(got, where).toEqual(want);
  } else {
    expect(got.label, where).toEqual(want.label);
    expect(got.captured, where).toEqual(want.captured);
    const features = [...out.subarray(1, 1 + DIM)];
    // Bit for bit, -0 included.
    features.forEach((f, i) => expect(Object.is(f, want.raw[i]), `${where} [${i}]`).toBe(true));
  }
  return { fast: pair.fast.fastRecords > before, ok: got.ok };
}

/** Numbers written in the ways JSON producers write them. */
function numberText(rng: SeededRandom): string {
  const x = (rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 12 - 6);
  switch (Math.floor(rng.next() * 10)) {
    case 0:
      return String(x); // shortest double: up to 17 digits
    case 1:
      return String(Math.fround(x)); // a Float32 printed as a double
    case 2:
      return x.toFixed(Math.floor(rng.next() * 4)); // 0..3 decimals
    case 3:
      return x.toExponential(Math.floor(rng.next() * 20)); // 1..21 digits, e±
    case 4:
      return String(Math.round(x * 1e6)); // integers
    case 5:
      return (rng.next() * 1e22).toPrecision(21).replace('+', ''); // big, beyond 2^53
    case 6:
      return `${rng.next() < 0.5 ? '-' : ''}0.${'0'.repeat(Math.floor(rng.next() * 30))}${Math.floor(rng.next() * 1e9)}`;
    case 7:
      return halfway(rng, 0);
    case 8:
      return halfway(rng, rng.next() < 0.5 ? -1 : 1);
    default:
      return `${Math.floor(rng.next() * 1e6)}.${String(Math.floor(rng.next() * 1e15)).padStart(15, '0')}${Math.floor(rng.next() * 1e9)}`; // 30 digits
  }
}

/**
 * A double halfway between two adjacent Float32 values (step 0), or one double step beside
 * it: where rounding to Float32 is decided by the last bit.
 */
function halfway(rng: SeededRandom, step: -1 | 0 | 1): string {
  const f = Math.fround((rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 60 - 30));
  const f32 = new Float32Array([f]);
  const i32 = new Int32Array(f32.buffer);
  i32[0]! += 1;
  const mid = (f + f32[0]!) / 2;
  const f64 = new Float64Array([mid]);
  const i64 = new BigInt64Array(f64.buffer);
  i64[0]! += BigInt(step);
  // Shortest text of that double, and with more digits than it needs.
  return rng.next() < 0.5 ? String(f64[0]) : f64[0]!.toPrecision(25);
}

describe('the decoder fast path', () => {
  it('reads numbers to the same Float32 as JSON.parse, halfway points and long digits included', () => {
    const pair = decoders({}, 'host');
    const rng = new SeededRandom(3);
    let fast = 0;
    const n = 20_000;
    for (let r = 0; r < n; r++) {
      const xs = Array.from({ length: DIM }, () => numberText(rng));
      const { fast: answered } = agree(
        pair,
        `{"features":[${xs.join(',')}],"label":${r % 5},"host":"h${r % 3}"}`,
      );
      if (answered) fast += 1;
    }
    // Almost every record is answered by the fast path: a test of it, not of the fallback.
    expect(fast / n).toBeGreaterThan(0.95);
  });

  it('rounds as JSON.parse does halfway below and above powers of two', () => {
    const pair = decoders();
    const step = (x: number, by: number) => {
      const f64 = new Float64Array([x]);
      new BigInt64Array(f64.buffer)[0]! += BigInt(by);
      return f64[0]!;
    };
    for (let k = -30; k <= 30; k++) {
      const p = 2 ** k;
      // Below a power of two the Float32 values are 2^(k-24) apart, above it 2^(k-23).
      const below = p - 2 ** (k - 25);
      const above = p + 2 ** (k - 24);
      const xs = [below, above].flatMap((m) => [-2, -1, 0, 1, 2].map((by) => step(m, by)));
      for (let i = 0; i < xs.length; i += DIM) {
        const row = Array.from({ length: DIM }, (_, j) => xs[(i + j) % xs.length]!);
        agree(pair, `{"features":[${row.map((x) => x.toPrecision(20)).join(',')}]}`);
        agree(pair, `{"features":[${row.map((x) => String(-x)).join(',')}]}`);
      }
    }
  });

  it('answers only for records JSON.parse reads the same way, and gives way on any other', () => {
    const pair = decoders({}, 'host');
    const v = '[1.5,-2,3e-3,4]';
    const answered: string[] = [];
    const cases = [
      // Answered: every form of a flat object.
      `{"features":${v}}`,
      ` \t\r\n{ "features" : [ 1.5 , -2 , 3e-3 , 4 ] , "label" : "cat" } \n`,
      `{"label":2,"features":${v},"host":true}`,
      `{"features":${v},"label":null,"host":null,"x":[],"y":[1,2,3],"z":"a b"}`,
      `{"features":${v},"label":1.5}`,
      `{"features":${v},"label":-0,"host":-0}`,
      `{"features":${v},"host":[1]}`,
      `{"features":${v},"label":false}`,
      `{"features":[-0,0,0.0,0e5]}`,
      `{"features":[1E2,1e+2,1e-2,1.0e0]}`,
      `{"features":[1e39,-1e39,1e-46,3.4028235e38]}`,
      // Given way to the ordinary path: its result or its error.
      `{"features":${v},"label":1e400}`,
      `{"features":${v},"label":"ca\\"t"}`,
      `{"features":${v},"label":"caté"}`,
      `{"features":${v},"host":{"a":1}}`,
      `{"features":${v},"features":[5,6,7,8]}`,
      `{"features":${v},"label":1,"label":2}`,
      `{"features":${v},"host":"a","host":"b"}`,
      `{"features":[1,2,3]}`,
      `{"features":[1,2,3,4,5]}`,
      `{"features":[]}`,
      `{"features":[1,2,3,"4"]}`,
      `{"features":[1,2,3,[4]]}`,
      `{"features":[1,2,3,1e400]}`,
      `{"features":[1,2,3,01]}`,
      `{"features":[1,2,3,1.]}`,
      `{"features":[1,2,3,.5]}`,
      `{"features":[1,2,3,+1]}`,
      `{"features":[1,2,3,-]}`,
      `{"features":[1,2,3,1e]}`,
      `{"features":[1,2,3,1e+]}`,
      `{"features":[1,2,3,NaN]}`,
      `{"features":[1,2,3,4,]}`,
      `{"features":${v},}`,
      `{"features":${v}} x`,
      `{"features":${v}`,
      `{'features':${v}}`,
      `{"features":${v}/*c*/}`,
      `[1,2,3,4]`,
      `{}`,
      `{"other":${v}}`,
      `{"features":"${v}"}`,
      `{"features":${v},"label":tru}`,
      `{"features":${v},"label":nul}`,
      `{"features":${v},"x":"\u0001"}`,
      '\ufeff{"features":[1,2,3,4]}',
    ];
    for (const text of cases) if (agree(pair, text).fast) answered.push(text);
    expect(answered).toEqual(cases.slice(0, 11));
    // Bytes that are not UTF-8: the ordinary path's error.
    expect(agree(pair, Buffer.from([0x7b, 0xff, 0x7d])).fast).toBe(false);
  });

  it('checks the schema version as the ordinary path does, and gives way where it fails', () => {
    const pair = decoders({ schemaVersionField: 'v', schemaVersions: [2, 'x'] });
    const v = '[1,2,3,4]';
    expect(agree(pair, `{"v":2,"features":${v}}`)).toEqual({ fast: true, ok: true });
    expect(agree(pair, `{"v":"x","features":${v}}`)).toEqual({ fast: true, ok: true });
    expect(agree(pair, `{"v":3,"features":${v}}`)).toEqual({ fast: false, ok: false });
    expect(agree(pair, `{"v":"2","features":${v}}`)).toEqual({ fast: false, ok: false });
    expect(agree(pair, `{"features":${v}}`)).toEqual({ fast: false, ok: false });
  });

  it('leaves records with named fields (decode.fields) to the ordinary path', () => {
    const options = validateConfig({ decode: { fields: ['a', 'b'] } }).decode;
    const decoder = new JsonDecoder(options);
    const out = new Float32Array(2);
    expect(decoder.parseInto(Buffer.from('{"a":1,"b":2}'), out, 0).ok).toBe(true);
    expect([...out]).toEqual([1, 2]);
    expect(decoder.fastRecords).toBe(0);
  });
});
