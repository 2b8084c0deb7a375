import { describe, expect, it } from 'vitest';

import { pack, type ModelState } from '../../../src/model/model-state.js';
import { averageWeights } from '../../../src/model/weight-average.js';

function state(version: number, dense: number[], head: number[]): ModelState {
  return {
    version,
    variables: pack([
      { name: 'dense/kernel', shape: [2], values: Float32Array.from(dense) },
      { name: 'head/ids', shape: [2], values: Float32Array.from(head) },
    ]),
    optimizer: pack([{ name: 'adam/m', shape: [1], values: Float32Array.from([9]) }]),
  };
}

describe('averageWeights (federated averaging)', () => {
  it('weights each replica by the records it trained on; the head and optimiser are not averaged', () => {
    const avg = averageWeights([
      { state: state(4, [1, 10], [0, 1]), weight: 1 },
      { state: state(7, [3, 30], [5, 6]), weight: 3 },
    ]);
    expect(Array.from(avg.variables.values)).toEqual([2.5, 25, 0, 1]);
    expect(avg.version).toBe(8);
    expect(avg.optimizer.entries).toEqual([]);
  });

  it('a replica that did not train has no say', () => {
    const avg = averageWeights([
      { state: state(1, [1, 1], [0, 0]), weight: 0 },
      { state: state(1, [5, 7], [0, 0]), weight: 2 },
    ]);
    expect(Array.from(avg.variables.values.subarray(0, 2))).toEqual([5, 7]);
  });

  it('refuses networks of different shapes, naming the variable', () => {
    const other: ModelState = {
      version: 1,
      variables: pack([{ name: 'dense/kernel', shape: [3], values: new Float32Array(3) }]),
      optimizer: pack([]),
    };
    expect(() =>
      averageWeights([
        { state: state(1, [1, 1], [0, 0]), weight: 1 },
        { state: other, weight: 1 },
      ]),
    ).toThrow(
      'cannot average weights of different networks: dense/kernel [2] is [3] in one of them',
    );
  });
});
