/**
 * The built-in demo stream: a seeded drifting Gaussian mixture (see DriftingMixture) encoded as
 * JSON records `{"features": [...], "label": n}`, so it goes through the same decoder as Kafka
 * records. `synthetic.malformedEvery` mixes in undecodable records to show the dead-letter path.
 */
import type { Config } from '../config/schema.js';
import { DriftingMixture } from './drifting-mixture.js';
import { pacedChunks } from './paced-chunks.js';
import type { Source, SourceRecord } from './source.js';

export function createSyntheticSource(
  config: Config['synthetic'],
  maxInFlight: number,
  /** Resume: regenerate and drop the records before this sequence number. */
  skip = 0,
): Source {
  let stopped = false;
  const mixture = new DriftingMixture(config);
  function* records(): Generator<Omit<SourceRecord, 'chunk'>> {
    for (let offset = 0; config.totalRecords === 0 || offset < config.totalRecords; offset++) {
      const malformed = config.malformedEvery > 0 && (offset + 1) % config.malformedEvery === 0;
      const point = mixture.next();
      if (offset < skip) continue;
      const value = malformed
        ? '{"features": [1, 2,'
        : JSON.stringify({ features: point.features, label: point.label });
      yield {
        topic: 'synthetic',
        partition: 0,
        offset: String(offset),
        key: Buffer.from(`s-${offset}`),
        value: Buffer.from(value),
        timestamp: Date.now(),
      };
    }
  }
  return {
    kind: 'synthetic',
    chunks: pacedChunks(records(), {
      chunkSize: config.chunkSize,
      maxInFlight,
      recordsPerSecond: config.recordsPerSecond,
      stopped: () => stopped,
    }),
    stop: async () => {
      stopped = true;
    },
    close: async () => undefined,
    healthy: () => true,
  };
}
