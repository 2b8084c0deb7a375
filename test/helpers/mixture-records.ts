/**
 * Input data for integration tests: a seeded stationary mixture as JSON records, with a
 * handful of malformed records of different kinds mixed in at fixed positions.
 */
import { DriftingMixture } from '../../src/sources/drifting-mixture.js';
import type { ProducedRecord } from './kafka.js';

export const MALFORMED: readonly { value: string | Buffer | null; reason: string }[] = [
  { value: '{"features": [1, 2,', reason: 'malformed_json' },
  { value: '{"features": "1,2,3"}', reason: 'wrong_type' },
  { value: '{"other": [1, 2, 3]}', reason: 'missing_field' },
  { value: '{"features": [1, 2]}', reason: 'wrong_length' },
  { value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), reason: 'invalid_utf8' },
  { value: null, reason: 'null_value' },
  { value: '[1, 2, 3]', reason: 'not_an_object' },
];

/**
 * The data of the Kafka pipeline test (5,000 records, 5 clusters, 7 malformed). The warm-up
 * unit test replays one partition of it, the order that once seeded the store badly.
 */
export const PIPELINE_MIXTURE = {
  count: 5000,
  clusters: 5,
  dim: 8,
  seed: 2024,
  malformedEvery: 700,
} as const;

export function mixtureRecords(options: {
  count: number;
  clusters: number;
  dim: number;
  seed: number;
  malformedEvery?: number;
}): {
  records: ProducedRecord[];
  malformedKeys: Map<string, string>;
} {
  const mixture = new DriftingMixture({
    seed: options.seed,
    dim: options.dim,
    clusters: options.clusters,
    spread: 0.6,
    separation: 6,
    driftEveryRecords: 0,
  });
  const records: ProducedRecord[] = [];
  const malformedKeys = new Map<string, string>();
  let bad = 0;
  for (let i = 0; i < options.count; i++) {
    const point = mixture.next();
    records.push({
      key: `r-${i}`,
      value: JSON.stringify({ features: point.features, label: point.label }),
    });
    if (options.malformedEvery !== undefined && (i + 1) % options.malformedEvery === 0) {
      const m = MALFORMED[bad % MALFORMED.length]!;
      const key = `bad-${bad}`;
      records.push({ key, value: m.value });
      malformedKeys.set(key, m.reason);
      bad += 1;
    }
  }
  return { records, malformedKeys };
}
