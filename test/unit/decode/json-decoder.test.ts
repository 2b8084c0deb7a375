import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { JsonDecoder } from '../../../src/decode/json-decoder.js';

function decoder(decode: Record<string, unknown> = {}): JsonDecoder {
  return new JsonDecoder(validateConfig({ decode: { standardize: false, ...decode } }).decode);
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('JsonDecoder', () => {
  it('decodes the vector field and the integer label', () => {
    const result = decoder().decode(json({ features: [1, 2.5, -3], label: 4 }));
    expect(result).toEqual({ ok: true, features: new Float32Array([1, 2.5, -3]), label: 4 });
  });

  it('decodes named numeric fields in the declared order', () => {
    const result = decoder({ fields: ['b', 'a'] }).decode(json({ a: 1, b: 2, c: 'ignored' }));
    expect(result.ok && [...result.features]).toEqual([2, 1]);
  });

  it('without a vote, fixes the dimension from the first valid record and rejects other lengths', () => {
    const d = decoder();
    expect(d.dim).toBe(0);
    expect(d.decode(json({ features: [1, 2, 3] })).ok).toBe(true);
    expect(d.dim).toBe(3);
    expect(d.decode(json({ features: [1, 2] }))).toEqual({
      ok: false,
      reason: 'wrong_length',
      message:
        'the field "features" has 2 values, expected 3 (the length most records of the first batch had; set decode.dim to declare it)',
    });
  });

  it('takes the dimension most records of the first batch have: a wide first record is dead-lettered', () => {
    const d = decoder();
    const batch = [
      json({ features: Array.from({ length: 100_000 }, () => 1) }),
      json({ features: [1, 2, 3] }),
      Buffer.from('{"features": [1,'),
      json({ features: [4, 5, 6] }),
      json({ features: [1, 'x', 3, 4] }),
      json({ features: [7, 8, 9] }),
    ];
    expect(d.voteDimension(batch)).toEqual({ dim: 3, agreeing: 3, voters: 4 });
    expect(d.decode(batch[0]!)).toMatchObject({ ok: false, reason: 'wrong_length' });
    expect(batch.slice(1).map((b) => d.decode(b).ok)).toEqual([true, false, true, false, true]);
    // Fixed once: a later batch of other lengths does not move it.
    expect(d.voteDimension([json({ features: [1, 2] }), json({ features: [1, 2] })])).toBe(
      undefined,
    );
    expect(d.dim).toBe(3);
  });

  it('never votes over a declared dimension or over a batch without vectors', () => {
    expect(decoder({ dim: 2 }).voteDimension([json({ features: [1, 2, 3] })])).toBe(undefined);
    const d = decoder();
    expect(d.voteDimension([null, json({ other: 1 })])).toBe(undefined);
    expect(d.dim).toBe(0);
  });

  it.each([
    ['null value', null, 'null_value'],
    ['empty value', Buffer.alloc(0), 'empty_value'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid_utf8'],
    ['malformed JSON', Buffer.from('{"features": [1,'), 'malformed_json'],
    ['a JSON array', json([1, 2]), 'not_an_object'],
    ['a JSON string', json('hello'), 'not_an_object'],
    ['missing field', json({ other: [1] }), 'missing_field'],
    ['vector of the wrong type', json({ features: 'a,b' }), 'wrong_type'],
    ['element of the wrong type', json({ features: [1, '2'] }), 'wrong_type'],
    ['element null', json({ features: [1, null] }), 'wrong_type'],
    ['infinity from an overflowing literal', Buffer.from('{"features": [1, 1e999]}'), 'non_finite'],
    ['empty vector', json({ features: [] }), 'wrong_length'],
  ])('rejects %s with a reason code', (_name, value, reason) => {
    const result = decoder().decode(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe(reason);
    expect(!result.ok && result.message.length).toBeGreaterThan(5);
  });

  it('rejects records above maxRecordBytes before parsing them', () => {
    const result = decoder({ maxRecordBytes: 10 }).decode(json({ features: [1, 2, 3] }));
    expect(result).toEqual({
      ok: false,
      reason: 'oversize',
      message: 'the value has 20 bytes, above decode.maxRecordBytes (10)',
    });
  });

  it('rejects records of an unexpected schema version, or without one', () => {
    const d = decoder({ schemaVersionField: 'v', schemaVersions: [1, '2'] });
    expect(d.decode(json({ v: 1, features: [1] })).ok).toBe(true);
    expect(d.decode(json({ v: '2', features: [1] })).ok).toBe(true);
    expect(d.decode(json({ v: 3, features: [1] }))).toEqual({
      ok: false,
      reason: 'schema_version',
      message: 'schema version 3 is not one of the accepted [1,"2"]',
    });
    expect(d.decode(json({ features: [1] }))).toEqual({
      ok: false,
      reason: 'schema_version',
      message: 'the schema version field "v" is missing',
    });
  });

  it('standardises with the running mean and sample standard deviation', () => {
    const d = decoder({ standardize: true });
    const out = [1, 3, 5].map((x) => {
      const r = d.decode(json({ features: [x] }));
      return r.ok ? (r.features[0] as number) : Number.NaN;
    });
    // After x=1: mean 1, variance undefined → (1-1)/1 = 0. After 3: mean 2, s² = 2 → 1/√2.
    // After 5: mean 3, s² = 4 → 1.
    expect(out[0]).toBeCloseTo(0, 6);
    expect(out[1]).toBeCloseTo(1 / Math.SQRT2, 6);
    expect(out[2]).toBeCloseTo(1, 6);
  });

  it('keeps the raw features on request and standardises them again with later statistics', () => {
    const d = decoder({ standardize: true });
    const first = d.decode(json({ features: [1, 10] }), true);
    const plain = d.decode(json({ features: [3, 30] }));
    d.decode(json({ features: [5, 50] }));
    if (!first.ok || !plain.ok) throw new Error('expected valid records');
    expect(first.features).toEqual(new Float32Array([0, 0]));
    expect(first.raw).toEqual(new Float32Array([1, 10]));
    expect(plain.raw).toBeUndefined();
    // Now mean [3, 30], sample sd [2, 20]: both raw rows scaled by the same statistics.
    const again = d.standardizeNow(new Float32Array([1, 10, 5, 50]));
    expect([...again].map((v) => Number(v.toFixed(6)))).toEqual([-1, -1, 1, 1]);
    // It does not update the statistics: the next record still sees mean 3 of three records.
    expect(d.statistics().count).toBe(3);
    const next = d.decode(json({ features: [3, 30] }));
    expect(next.ok && next.features[0]).toBeCloseTo(0, 6);
  });

  it('returns the raw features unchanged from standardizeNow when standardisation is off', () => {
    const d = decoder({ standardize: false });
    d.decode(json({ features: [1, 2] }));
    const raw = new Float32Array([4, 5]);
    expect(d.standardizeNow(raw)).toBe(raw);
  });
});

describe('JsonDecoder standardisation clipping', () => {
  it('clips standardised values to ±decode.clip, and not at all with 0', () => {
    const run = (clip: number): number => {
      const d = decoder({ standardize: true, clip });
      // A nearly constant feature: 99 zeros, then one 1 (z ≈ 9.9 unclipped).
      let last = 0;
      for (let i = 0; i < 100; i++) {
        const r = d.decode(Buffer.from(JSON.stringify({ features: [i < 99 ? 0 : 1] })));
        if (r.ok) last = r.features[0] as number;
      }
      return last;
    };
    expect(run(5)).toBe(5);
    expect(run(0)).toBeGreaterThan(9);
  });
});
