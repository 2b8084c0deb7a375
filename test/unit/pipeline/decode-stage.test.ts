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
    valid: b.valid.map((r) => ({
      offset: r.record.offset,
      features: [...r.features],
      raw: r.raw === undefined ? undefined : [...r.raw],
      label: r.label,
      captured: r.captured,
    })),
    deadLetters: b.deadLetters.map((d) => [d.record.offset, d.reason, d.message]),
    inputs: [...(b.inputs ?? [])],
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
      const [onMain, inWorker] = [
        await main.decode(input, b === 0),
        await worker.decode(input, b === 0),
      ];
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
    const first = await stage.decode(records(batch(0), 0), true);
    expect(first.valid).toHaveLength(40);
    expect(stage.decoder.dim).toBe(3);
    expect(stage.batchesInWorker).toBe(1);
    const second = await stage.decode(records(batch(1), 100), false);
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
});
