/**
 * Positive pairs from the data itself, for a stream without labels or keys: each anchor record
 * is paired with one of its nearest neighbours in input space (SCAN's and NNCLR's observation
 * that a record's nearest neighbours almost always share its class: 97 % of the 5 nearest
 * neighbours of a digits image are the same digit), and both sides can be corrupted SCARF-style
 * (a share of the features replaced by the same feature of another record) so the network
 * learns what a record and its neighbours have in common instead of memorising them.
 *
 * Layout: `features` is the pool, rows × dim; its first `anchors` rows are the anchors. For
 * anchor i a neighbour is drawn uniformly among its `neighbours` nearest pool rows other than
 * itself and its exact copies (squared euclidean distance; a copy only when nothing else is
 * near). The result is [2·anchors, dim]: rows 0..a−1 the anchors,
 * rows a..2a−1 their neighbours, the layout ntXent and viewLabels expect.
 *
 * Parameters:
 * - `anchors`: 1 ≤ anchors ≤ rows (an anchor needs a pool of at least 2 rows);
 * - `neighbours`: how many nearest rows a positive is drawn from (≥ 1, default 10; 1 always
 *   takes the nearest, larger values add variety but admit more pairs across a boundary);
 * - `corruption`: SCARF's share of features replaced, in [0, 1) (default 0; SCARF uses 0.6 on
 *   its tabular benchmarks); 0 keeps the rows as they are;
 * - `seed`: draws of neighbours and corruptions (vary it per step).
 *
 * The distances are one matrix product on the backend; the top-k and the draws are plain
 * JavaScript, so the same seed gives the same pairs on every backend.
 *
 * References: W. Van Gansbeke et al., "SCAN: Learning to Classify Images without Labels",
 * ECCV 2020; D. Dwibedi et al., "With a Little Help from My Friends: Nearest-Neighbor
 * Contrastive Learning of Visual Representations" (NNCLR), ICCV 2021; D. Bahri et al.,
 * "SCARF: Self-Supervised Contrastive Learning using Random Feature Corruption", ICLR 2022.
 */
import * as tf from '@tensorflow/tfjs';

import { mulberry32 } from './mulberry32.js';
import { squaredDistances } from './pairwise-distances.js';

/** Extra nearest rows looked at, so that up to this many exact duplicates can be skipped. */
const DUPLICATE_SLACK = 16;
/** Squared distance at or below which two rows count as the same record. */
const DUPLICATE_DISTANCE = 1e-9;

export interface NeighbourViewOptions {
  anchors: number;
  neighbours?: number;
  corruption?: number;
  seed?: number;
}

export interface NeighbourViews {
  /** [2·anchors, dim] row-major: anchors, then one neighbour of each. */
  views: Float32Array;
  /** Pool row of each anchor's neighbour. */
  partners: Int32Array;
  /** Anchors whose only candidates were copies of themselves (their pair teaches nothing). */
  copies: number;
}

export function neighbourViews(
  features: Float32Array,
  rows: number,
  dim: number,
  options: NeighbourViewOptions,
): NeighbourViews {
  const { anchors } = options;
  const neighbours = options.neighbours ?? 10;
  const corruption = options.corruption ?? 0;
  if (features.length !== rows * dim) {
    throw new Error(
      `neighbourViews: features has ${features.length} values, expected rows × dim = ${rows} × ${dim}`,
    );
  }
  if (!Number.isInteger(anchors) || anchors < 1 || anchors > rows || rows < 2) {
    throw new RangeError(
      `neighbourViews: anchors must be an integer in [1, rows] with rows ≥ 2, got anchors ${anchors}, rows ${rows}`,
    );
  }
  if (!Number.isInteger(neighbours) || neighbours < 1) {
    throw new RangeError(`neighbourViews: neighbours must be an integer ≥ 1, got ${neighbours}`);
  }
  if (!(corruption >= 0 && corruption < 1)) {
    throw new RangeError(`neighbourViews: corruption must be in [0, 1), got ${corruption}`);
  }
  // The anchor itself and its exact duplicates (a record read twice, a replay memory that holds
  // two copies) are among its nearest rows at distance 0: a duplicate is a positive that teaches
  // nothing, so candidates skip rows at distance 0 when there are others.
  const take = Math.min(neighbours + DUPLICATE_SLACK + 1, rows);
  const nearest = tf.tidy(() => {
    const pool = tf.tensor2d(features, [rows, dim]);
    const a = tf.slice(pool, [0, 0], [anchors, dim]);
    const top = tf.topk(tf.neg(squaredDistances(a, pool)), take);
    return [top.indices, tf.neg(top.values)];
  });
  const order = nearest[0]!.dataSync() as Int32Array;
  const distances = nearest[1]!.dataSync() as Float32Array;
  tf.dispose(nearest);
  const random = mulberry32(options.seed ?? 0);
  const partners = new Int32Array(anchors);
  let copies = 0;
  for (let i = 0; i < anchors; i++) {
    const distinct: number[] = [];
    const duplicates: number[] = [];
    for (let q = 0; q < take && distinct.length < neighbours; q++) {
      const j = order[i * take + q] as number;
      if (j === i) continue;
      ((distances[i * take + q] as number) > DUPLICATE_DISTANCE ? distinct : duplicates).push(j);
    }
    const candidates = distinct.length > 0 ? distinct : duplicates;
    if (distinct.length === 0) copies += 1;
    partners[i] = candidates[Math.floor(random() * candidates.length)] ?? i;
  }
  const views = new Float32Array(2 * anchors * dim);
  const copy = (from: number, to: number): void => {
    for (let t = 0; t < dim; t++) {
      const source = corruption > 0 && random() < corruption ? Math.floor(random() * rows) : from;
      views[to * dim + t] = features[source * dim + t] as number;
    }
  };
  for (let i = 0; i < anchors; i++) {
    copy(i, i);
    copy(partners[i] as number, anchors + i);
  }
  return { views, partners, copies };
}
