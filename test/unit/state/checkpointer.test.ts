import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { Checkpointer } from '../../../src/state/checkpointer.js';
import type { SourceRecord } from '../../../src/sources/source.js';

const record = (topic: string, partition: number, offset: string): SourceRecord =>
  ({ topic, partition, offset, key: null, value: null, timestamp: 0 }) as SourceRecord;

const withDir = validateConfig({ checkpoint: { dir: '/tmp/checkpoints' } }).checkpoint;

describe('Checkpointer offsets', () => {
  it('keeps the offset after the highest settled record of each partition, compared as numbers', () => {
    const checkpointer = new Checkpointer(withDir);
    // 10 after 9 (a string comparison would put "10" first), records out of order, two topics.
    checkpointer.settled([
      record('a', 0, '9'),
      record('a', 1, '99'),
      record('a', 0, '10'),
      record('b', 0, '3'),
      record('a', 1, '7'),
    ]);
    expect(checkpointer.offsets()).toEqual([
      { topic: 'a', partition: 0, offset: '11' },
      { topic: 'a', partition: 1, offset: '100' },
      { topic: 'b', partition: 0, offset: '4' },
    ]);
    // A later call with lower offsets (a redelivery) never moves an offset back.
    checkpointer.settled([record('a', 1, '50'), record('a', 0, '123456789012345678')]);
    expect(checkpointer.offsets()).toEqual([
      { topic: 'a', partition: 0, offset: '123456789012345679' },
      { topic: 'a', partition: 1, offset: '100' },
      { topic: 'b', partition: 0, offset: '4' },
    ]);
  });

  it('goes on from resumed offsets and not below them', () => {
    const checkpointer = new Checkpointer(withDir);
    checkpointer.resumeFrom([{ topic: 'a', partition: 2, offset: '1000' }], 0);
    checkpointer.settled([record('a', 2, '998')]);
    expect(checkpointer.offsets()).toEqual([{ topic: 'a', partition: 2, offset: '1000' }]);
    checkpointer.settled([record('a', 2, '1000')]);
    expect(checkpointer.offsets()).toEqual([{ topic: 'a', partition: 2, offset: '1001' }]);
  });

  it('keeps no offsets when checkpoints are off (checkpoint.dir empty): nothing would write them', () => {
    const checkpointer = new Checkpointer(validateConfig({}).checkpoint);
    checkpointer.settled([record('a', 0, '9')]);
    expect(checkpointer.offsets()).toEqual([]);
  });
});
