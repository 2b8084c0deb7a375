/**
 * `npm run bench -- decode`: what decoding a record costs on the main thread, the ordinary way
 * (TextDecoder, JSON.parse, then the vector read; `JsonDecoder.parse`) against the fast path
 * the decode stage takes (`JsonDecoder.parseInto`, fast-record.ts), on the throughput
 * benchmark's records (an 8-cluster mixture, numbers of up to 17 digits) and on the same records
 * with the numbers rounded to 3 decimals (what many producers write). Median of 7 interleaved
 * rounds, microseconds per record, one process.
 */
import { validateConfig } from '../src/config/load-config.js';
import { JsonDecoder } from '../src/decode/json-decoder.js';
import { DriftingMixture } from '../src/sources/drifting-mixture.js';
import type { BenchOptions } from './index.js';

const ROUNDS = 7;

function records(dim: number, count: number, decimals?: number): Buffer[] {
  const mixture = new DriftingMixture({
    seed: 14,
    dim,
    clusters: 8,
    spread: 0.6,
    separation: 6,
    driftEveryRecords: 0,
  });
  return Array.from({ length: count }, () => {
    const point = mixture.next();
    const features =
      decimals === undefined
        ? point.features
        : point.features.map((x) => Number(x.toFixed(decimals)));
    return Buffer.from(JSON.stringify({ features, label: point.label }));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function runDecodeBench(options: BenchOptions): Promise<void> {
  const count = options.quick ? 500 : 2_000;
  console.log(
    `\n### Decoding a record on the main thread: µs per record, median of ${ROUNDS} interleaved rounds of ${count.toLocaleString('en')} records\n`,
  );
  console.log(
    '| records | bytes | ordinary (JSON.parse) | fast path | ÷ | records the fast path read |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const dim of [32, 256]) {
    for (const decimals of [undefined, 3]) {
      const values = records(dim, count, decimals);
      const decoder = new JsonDecoder(validateConfig({ decode: { dim } }).decode);
      const out = new Float32Array(count * dim);
      const reps = Math.max(1, Math.round(64 / dim) * 4);
      const ways = {
        ordinary: () => {
          for (const v of values) if (!decoder.parse(v).ok) throw new Error('not decoded');
        },
        fast: () => {
          values.forEach((v, i) => {
            if (!decoder.parseInto(v, out, i * dim).ok) throw new Error('not decoded');
          });
        },
      };
      const times: Record<keyof typeof ways, number[]> = { ordinary: [], fast: [] };
      for (let round = -1; round < ROUNDS; round++) {
        for (const way of ['ordinary', 'fast'] as const) {
          const started = process.hrtime.bigint();
          for (let r = 0; r < reps; r++) ways[way]();
          const us = Number(process.hrtime.bigint() - started) / 1000 / (reps * count);
          // Round -1 warms the JIT up.
          if (round >= 0) times[way].push(us);
        }
      }
      const fastShare = decoder.fastRecords / ((ROUNDS + 1) * reps * count);
      const bytes = Math.round(values.reduce((n, v) => n + v.length, 0) / count);
      const [o, f] = [median(times.ordinary), median(times.fast)];
      console.log(
        `| d = ${dim}, ${decimals === undefined ? 'as printed (up to 17 digits)' : `${decimals} decimals`} | ${bytes} | ${o.toFixed(2)} | ${f.toFixed(2)} | ${(o / f).toFixed(2)} | ${(100 * fastShare).toFixed(0)} % |`,
      );
    }
  }
}
