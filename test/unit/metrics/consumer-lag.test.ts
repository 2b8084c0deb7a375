import { describe, expect, it } from 'vitest';

import { computeLag } from '../../../src/metrics/consumer-lag-monitor.js';

describe('computeLag', () => {
  it('is the end offset minus the committed offset per partition', () => {
    const lag = computeLag(
      [
        { partition: 0, low: '0', high: '100' },
        { partition: 1, low: '0', high: '50' },
      ],
      [
        { partition: 0, offset: '40' },
        { partition: 1, offset: '50' },
      ],
    );
    expect([...lag]).toEqual([
      [0, 60],
      [1, 0],
    ]);
  });

  it('counts every retained record of a partition without a commit (-1 or absent)', () => {
    const lag = computeLag(
      [
        { partition: 0, low: '10', high: '25' },
        { partition: 1, low: '3', high: '3' },
        { partition: 2, low: '0', high: '7' },
      ],
      [{ partition: 0, offset: '-1' }],
    );
    expect([...lag]).toEqual([
      [0, 15],
      [1, 0],
      [2, 7],
    ]);
  });

  it('never goes negative (a commit read after a newer end offset) and keeps 64-bit offsets exact', () => {
    const lag = computeLag(
      [
        { partition: 0, low: '0', high: '9007199254740993' },
        { partition: 1, low: '0', high: '5' },
      ],
      [
        { partition: 0, offset: '9007199254740990' },
        { partition: 1, offset: '6' },
      ],
    );
    expect([...lag]).toEqual([
      [0, 3],
      [1, 0],
    ]);
  });
});
