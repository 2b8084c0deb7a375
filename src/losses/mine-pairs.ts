/**
 * In-batch pair mining for the contrastive loss: which (i, j) pairs of a batch to use, and
 * whether each is similar (same label) or dissimilar.
 *
 * Strategies:
 * - `all` (default): every unordered pair i < j.
 * - `hard`: only the pairs that currently violate their margin, i.e. that have a non-zero
 *   contrastive term: similar pairs with d > posMargin, dissimilar pairs with d < negMargin.
 *   The loss value is the same sum as with `all`; the mean is over fewer, informative pairs.
 *
 * Unlike triplets, a batch whose labels are all distinct still has pairs (all dissimilar); only
 * a batch of one sample has none. Past `maxPairs` (default 1,048,576) pairs are sampled
 * uniformly with replacement (seeded).
 *
 * Stats reuse MiningStats: `candidates` = pairs of the strategy before the cap, `found` =
 * returned pairs, `active` = returned pairs with a non-zero term, `anchorsDropped` = samples in
 * no returned pair.
 */
import type * as tf from '@tensorflow/tfjs';
import { distanceValues, type MiningStats } from './mine.js';
import { mulberry32 } from './mulberry32.js';

export type PairStrategy = 'all' | 'hard';

export interface MinePairsOptions {
  strategy?: PairStrategy;
  /** Similar pairs closer than this cost nothing (default 0). */
  posMargin?: number;
  /** Dissimilar pairs farther than this cost nothing (default 1). */
  negMargin?: number;
  maxPairs?: number;
  seed?: number;
}

export interface MinedPairs {
  first: Int32Array;
  second: Int32Array;
  /** 1 = similar (same label), 0 = dissimilar. */
  similar: Float32Array;
  stats: MiningStats;
}

export function minePairs(
  distances: tf.Tensor2D | Float32Array,
  labels: ArrayLike<number>,
  options: MinePairsOptions = {},
): MinedPairs {
  const n = labels.length;
  const d = distanceValues(distances, labels);
  const posMargin = options.posMargin ?? 0;
  const negMargin = options.negMargin ?? 1;
  const hard = (options.strategy ?? 'all') === 'hard';
  const isActive = (i: number, j: number): boolean => {
    const v = d[i * n + j] as number;
    return labels[i] === labels[j] ? v > posMargin : v < negMargin;
  };
  const candI: number[] = [];
  const candJ: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (hard && !isActive(i, j)) continue;
      candI.push(i);
      candJ.push(j);
    }
  }
  const cap = options.maxPairs ?? 1 << 20;
  let first = candI;
  let second = candJ;
  if (candI.length > cap) {
    const random = mulberry32(options.seed ?? 0);
    first = [];
    second = [];
    for (let s = 0; s < cap; s++) {
      const k = Math.floor(random() * candI.length);
      first.push(candI[k] as number);
      second.push(candJ[k] as number);
    }
  }
  const used = new Uint8Array(n);
  const similar = new Float32Array(first.length);
  let active = 0;
  for (let k = 0; k < first.length; k++) {
    const i = first[k] as number;
    const j = second[k] as number;
    used[i] = 1;
    used[j] = 1;
    similar[k] = labels[i] === labels[j] ? 1 : 0;
    if (isActive(i, j)) active += 1;
  }
  let dropped = 0;
  for (let i = 0; i < n; i++) dropped += used[i] === 1 ? 0 : 1;
  return {
    first: Int32Array.from(first),
    second: Int32Array.from(second),
    similar,
    stats: {
      candidates: candI.length,
      found: first.length,
      active,
      anchors: n,
      anchorsDropped: dropped,
      droppedFraction: n === 0 ? 0 : dropped / n,
    },
  };
}
