/**
 * 2-D views of a sample of embeddings for the report: PCA (always; the two leading principal
 * axes of the centred sample) and t-SNE (tsne-js, the exact O(n²) method, for small samples).
 */
import { createRequire } from 'node:module';

import { SeededRandom } from '../cluster/seeded-random.js';

/** Rows projected onto the two leading principal axes, and the share of variance each explains. */
export function pca2(rows: readonly ArrayLike<number>[]): {
  points: [number, number][];
  explained: [number, number];
} {
  const n = rows.length;
  if (n === 0) return { points: [], explained: [0, 0] };
  const dim = (rows[0] as ArrayLike<number>).length;
  const mean = new Float64Array(dim);
  for (const row of rows) for (let d = 0; d < dim; d++) mean[d]! += (row[d] as number) / n;
  const cov = new Float64Array(dim * dim);
  for (const row of rows) {
    for (let a = 0; a < dim; a++) {
      const da = (row[a] as number) - mean[a]!;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += (da * ((row[b] as number) - mean[b]!)) / n;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]!;
  let total = 0;
  for (let d = 0; d < dim; d++) total += cov[d * dim + d]!;
  const first = leadingEigenvector(cov, dim);
  deflate(cov, dim, first);
  const second = leadingEigenvector(cov, dim);
  const project = (row: ArrayLike<number>, axis: Float64Array): number => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += ((row[d] as number) - mean[d]!) * axis[d]!;
    return s;
  };
  return {
    points: rows.map((row) => [project(row, first.vector), project(row, second.vector)]),
    explained: total > 0 ? [first.value / total, second.value / total] : [0, 0],
  };
}

/**
 * Power iteration from a fixed start, then the sign fixed so the largest component is positive:
 * the same sample always gives the same picture. The covariance is small (embedding dim²), so a
 * few hundred iterations cost nothing.
 */
function leadingEigenvector(
  matrix: Float64Array,
  dim: number,
): { vector: Float64Array; value: number } {
  const random = new SeededRandom(1);
  let v = Float64Array.from({ length: dim }, () => random.next() + 0.5);
  let value = 0;
  for (let iteration = 0; iteration < 500; iteration++) {
    const next = new Float64Array(dim);
    for (let a = 0; a < dim; a++) {
      let s = 0;
      for (let b = 0; b < dim; b++) s += matrix[a * dim + b]! * v[b]!;
      next[a] = s;
    }
    const norm = Math.hypot(...next);
    if (norm === 0) return { vector: v.map(() => 0), value: 0 };
    for (let d = 0; d < dim; d++) next[d]! /= norm;
    let change = 0;
    for (let d = 0; d < dim; d++) change = Math.max(change, Math.abs(next[d]! - v[d]!));
    v = next;
    value = norm;
    if (change < 1e-10) break;
  }
  let largest = 0;
  for (let d = 1; d < dim; d++) if (Math.abs(v[d]!) > Math.abs(v[largest]!)) largest = d;
  if (v[largest]! < 0) v = v.map((x) => -x);
  return { vector: v, value };
}

function deflate(matrix: Float64Array, dim: number, e: { vector: Float64Array; value: number }) {
  for (let a = 0; a < dim; a++) {
    for (let b = 0; b < dim; b++) matrix[a * dim + b]! -= e.value * e.vector[a]! * e.vector[b]!;
  }
}

interface TsneModel {
  init(input: { data: number[][]; type: 'dense' }): void;
  run(): [number, number];
  getOutput(): number[][];
}
type TsneConstructor = new (options: Record<string, unknown>) => TsneModel;

export interface TsneOptions {
  perplexity?: number;
  iterations?: number;
  seed?: number;
}

/**
 * t-SNE of the rows with tsne-js. Its exact method costs O(n²) per iteration: measured here,
 * 500 points × 500 iterations took 18 s and 1,000 points 73 s on one shared core, hence the
 * report's small default sample. tsne-js draws its start from Math.random; run() is synchronous,
 * so swapping in a seeded generator for the duration of the call affects nothing else and makes
 * the layout reproducible.
 */
export function tsne2(
  rows: readonly ArrayLike<number>[],
  options: TsneOptions = {},
): [number, number][] {
  if (rows.length < 2) return rows.map(() => [0, 0]);
  const require = createRequire(import.meta.url);
  const TSNE = require('tsne-js') as TsneConstructor;
  const model = new TSNE({
    dim: 2,
    // tsne-js, like scikit-learn, needs perplexity below the number of points.
    perplexity: Math.min(options.perplexity ?? 30, Math.max(2, (rows.length - 1) / 3)),
    earlyExaggeration: 4,
    learningRate: 100,
    nIter: options.iterations ?? 500,
    metric: 'euclidean',
  });
  const random = new SeededRandom(options.seed ?? 0);
  const original = Math.random;
  Math.random = () => random.next();
  try {
    model.init({ data: rows.map((r) => Array.from(r)), type: 'dense' });
    model.run();
  } finally {
    Math.random = original;
  }
  return model.getOutput().map((p) => [p[0] ?? 0, p[1] ?? 0]);
}
