/**
 * The decode stage parses on a worker thread (decode.thread: worker, the Kafka source's
 * default) and must give exactly what decoding on the main thread gives: the same rows, the
 * same standardised features and label ids, the same dead letters with their reasons, in the
 * same order, batch after batch (the running statistics are one state).
 */
import { afterEach, describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { JsonDecoder } from '../../../src/decode/json-decoder.js';
import { DecodeStage, type DecodedBatch } from '../../../src/pipeline/decode-stage.js';
import type { SourceRecord } from '../../../src/sources/source.js';

function records(values: (string | null)[], first: number): SourceRecord[] {
  return values.map(
    (v, i) =>
      ({
        topic: 't',
        partition: 0,
        offset: String(first + i),
        key: null,
        value: v === null ? null : Buffer.from(v),
        timestamp: 0,
      }) as SourceRecord,
  );
}

/** A batch of valid records with string and numeric labels, and one of every kind of bad one. */
function batch(seed: number): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0; i < 40; i++) {
    const x = [(seed * 7 + i) % 11, (i * 3) % 5, i / 7].map((v) => v + seed / 10);
    const label = i % 3 === 0 ? `"kind-${i % 2}"` : String(i % 4);
    out.push(`{"features":[${x.join(',')}],"label":${label},"host":"h${i % 5}"}`);
  }
  out.splice(5, 0, null, '', '{"features":[1,2', '[1,2,3]', '{"features":[1,"a",3]}');
  out.splice(20, 0, '{"features":[1,2]}', '{"features":[1,2,1e999]}', '{"other":1}');
  return out;
}

function shape(b: DecodedBatch) {
  return {
    valid: b.valid.map((r) => r.offset),
    features: [...b.features],
    inputs: [...b.inputs],
    labels: b.labels,
    captured: b.captured,
    deadLetters: b.deadLetters.map((d) => [d.record.offset, d.reason, d.message]),
  };
}

describe('DecodeStage', () => {
  const stages: DecodeStage[] = [];
  afterEach(async () => {
    await Promise.all(stages.splice(0).map((s) => s.close()));
  });

  it('decodes on a worker thread exactly as on the main thread, batch after batch', async () => {
    const config = (thread: 'main' | 'worker') =>
      validateConfig({
        decode: { dim: 3, thread },
        losses: { positives: { source: 'field', field: 'host' }, ntXent: { weight: 0 } },
      });
    const deps = { logger: silentLogger, metrics: new Metrics({ defaultMetrics: false }) };
    const main = new DecodeStage({ ...deps, config: config('main') });
    const worker = new DecodeStage({ ...deps, config: config('worker') });
    stages.push(main, worker);
    for (let b = 0; b < 3; b++) {
      const input = records(batch(b), b * 100);
      const [onMain, inWorker] = [await main.decode(input), await worker.decode(input)];
      expect(onMain.valid.length).toBe(40);
      expect(onMain.deadLetters).toHaveLength(8);
      expect(shape(inWorker)).toEqual(shape(onMain));
    }
    expect([main.batchesInWorker, worker.batchesInWorker]).toEqual([0, 3]);
    expect(worker.decoder.statistics()).toEqual(main.decoder.statistics());
    expect(worker.decoder.labelNames()).toEqual(['kind-0', 'kind-1']);
    expect(worker.invalid.byReason()).toEqual(main.invalid.byReason());
  });

  it('votes the dimension on the first batch (decode.dim 0), then decodes it in the worker', async () => {
    const stage = new DecodeStage({
      config: validateConfig({ decode: { thread: 'worker' } }),
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    stages.push(stage);
    // decode.dim 0: the main thread votes the dimension on the first batch, the worker decodes.
    const first = await stage.decode(records(batch(0), 0));
    expect(first.valid).toHaveLength(40);
    expect(stage.decoder.dim).toBe(3);
    expect(stage.batchesInWorker).toBe(1);
    const second = await stage.decode(records(batch(1), 100));
    expect(second.valid).toHaveLength(40);
    expect(stage.batchesInWorker).toBe(2);
    expect(second.deadLetters.map((d) => d.reason).sort()).toEqual(
      [
        'null_value',
        'empty_value',
        'malformed_json',
        'not_an_object',
        'wrong_type',
        'wrong_length',
        'non_finite',
        'missing_field',
      ].sort(),
    );
  });

  it('fills one array per batch with what decoding record by record gives', async () => {
    const config = validateConfig({
      decode: { dim: 3 },
      losses: { positives: { source: 'field', field: 'host' }, ntXent: { weight: 0 } },
    });
    const stage = new DecodeStage({
      config,
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    stages.push(stage);
    const oneByOne = new JsonDecoder(config.decode, 'host');
    for (let b = 0; b < 2; b++) {
      const input = records(batch(b), b * 100);
      const decoded = await stage.decode(input);
      const expected = input
        .map((r) => ({ record: r, one: oneByOne.decode(r.value, true) }))
        .filter((x) => x.one.ok);
      expect(decoded.valid).toEqual(expected.map((x) => x.record));
      // The batch's arrays hold exactly its valid rows, the features standardised in order.
      expect(decoded.features).toHaveLength(40 * 3);
      expect(decoded.inputs).toHaveLength(40 * 3);
      expect([...decoded.features]).toEqual(
        expected.flatMap((x) => (x.one.ok ? [...x.one.features] : [])),
      );
      expect([...decoded.inputs]).toEqual(
        expected.flatMap((x) => (x.one.ok ? [...x.one.raw!] : [])),
      );
      expect(decoded.labels).toEqual(expected.map((x) => (x.one.ok ? x.one.label : null)));
      expect(decoded.captured).toEqual(expected.map((x) => (x.one.ok ? x.one.captured : null)));
      // The inputs are not the standardised features (standardisation is on by default).
      expect(decoded.inputs).not.toEqual(decoded.features);
    }
    expect(stage.decoder.statistics()).toEqual(oneByOne.statistics());
  });
});
