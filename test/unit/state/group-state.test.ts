import { describe, expect, it } from 'vitest';

import {
  GROUP_STATE_FORMAT,
  GROUP_STATE_FORMAT_VERSION,
  decodeGroupMessage,
  encodeGroupMessage,
  newer,
  type GlobalState,
} from '../../../src/state/group-state.js';

function state(term: number, epoch: number, leader = 'a'): GlobalState {
  return {
    kind: 'global',
    format: GROUP_STATE_FORMAT,
    formatVersion: GROUP_STATE_FORMAT_VERSION,
    configDigest: 'd',
    term,
    epoch,
    leader,
    publishedAtMs: 0,
    store: {} as GlobalState['store'],
    decoder: { count: 0, mean: [], m2: [], dim: 0 },
    model: null,
    folded: {},
    records: 0,
  };
}

describe('group state messages', () => {
  it('a later leader term wins over any epoch of an earlier one', () => {
    expect(newer(state(2, 1), state(1, 50))).toBe(true);
    expect(newer(state(1, 50), state(2, 1))).toBe(false);
    expect(newer(state(2, 3), state(2, 2))).toBe(true);
    expect(newer(state(2, 3, 'b'), state(2, 3, 'a'))).toBe(true);
    expect(newer(state(1, 1), undefined)).toBe(true);
  });

  it('round-trips, and refuses what is not this format', () => {
    expect(decodeGroupMessage(encodeGroupMessage(state(3, 4)))).toEqual(state(3, 4));
    expect(() => decodeGroupMessage(Buffer.from('{"format":"other","formatVersion":1}'))).toThrow(
      'not a streamclust/group-state v1 message (format other v1)',
    );
    expect(() => decodeGroupMessage(Buffer.from('{oops'))).toThrow(SyntaxError);
  });
});
