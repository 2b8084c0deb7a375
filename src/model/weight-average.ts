import type { ModelState, PackedTensors } from './model-state.js';

/**
 * Federated averaging of replicas' weights (McMahan et al., "Communication-efficient learning
 * of deep networks from decentralized data", AISTATS 2017): every variable is the mean of the
 * replicas' values weighted by how much each trained since the last average (`weight`, the
 * records its steps drew). Optimiser slots are not averaged: each replica keeps its own.
 *
 * Entries named `head/...` (the deep-clustering head, which follows the store's cluster ids)
 * are taken from the first state as they are: averaging ids or a head laid out for other ids
 * would mean nothing. Every state must hold the same entries with the same shapes.
 */
export function averageWeights(
  states: readonly { state: ModelState; weight: number }[],
): ModelState {
  const first = states[0];
  if (first === undefined) throw new RangeError('averageWeights needs at least one state');
  const total = states.reduce((n, s) => n + Math.max(0, s.weight), 0);
  const base = first.state.variables;
  const values = new Float32Array(base.values.length);
  for (const entry of base.entries) {
    const from = entry.offset;
    const to = entry.offset + entry.length;
    if (entry.name.startsWith('head/') || total === 0) {
      values.set(base.values.subarray(from, to), from);
      continue;
    }
    for (const { state, weight } of states) {
      if (weight <= 0) continue;
      const other = entryOf(state.variables, entry.name, entry.shape);
      const w = weight / total;
      for (let i = 0; i < entry.length; i++) values[from + i]! += w * other[i]!;
    }
  }
  const variables: PackedTensors = { entries: base.entries.map((e) => ({ ...e })), values };
  const version = Math.max(...states.map((s) => s.state.version)) + 1;
  return { version, variables, optimizer: { entries: [], values: new Float32Array(0) } };
}

function entryOf(packed: PackedTensors, name: string, shape: readonly number[]): Float32Array {
  const entry = packed.entries.find((e) => e.name === name);
  if (entry === undefined || entry.shape.join('x') !== shape.join('x')) {
    throw new Error(
      `cannot average weights of different networks: ${name} [${shape.join(', ')}] is ${entry === undefined ? 'missing' : `[${entry.shape.join(', ')}]`} in one of them`,
    );
  }
  return packed.values.subarray(entry.offset, entry.offset + entry.length);
}
