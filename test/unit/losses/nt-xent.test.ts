import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { ntXent } from '../../../src/losses/nt-xent.js';
import {
  checkGradient,
  expectAttachedZero,
  expectNoLeak,
  scalarOf,
  useTestBackend,
} from './helpers.js';

beforeAll(useTestBackend);

/** NT-Xent from its formula in plain JavaScript (float64), row i paired with row n + i. */
function expected(rows: number[][], temperature: number): number {
  const z = rows.map((r) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0));
    return r.map((v) => v / norm);
  });
  const n = z.length / 2;
  let total = 0;
  z.forEach((zi, i) => {
    const partner = i < n ? i + n : i - n;
    const sim = z.map((zj) => zi.reduce((s, v, t) => s + v * (zj[t] as number), 0) / temperature);
    const denominator = sim.reduce((s, v, j) => (j === i ? s : s + Math.exp(v)), 0);
    total += -(sim[partner] as number) + Math.log(denominator);
  });
  return total / z.length;
}

const rows = [
  [1, 0.2, -0.3],
  [0.1, 1, 0.4],
  [-0.5, 0.3, 1],
  [0.9, 0.1, -0.2],
  [0.2, 0.8, 0.5],
  [-0.4, 0.2, 0.9],
];

describe('ntXent', () => {
  it('equals the formula computed independently, for two temperatures', () => {
    for (const temperature of [0.5, 0.1]) {
      const value = tf.tidy(() => scalarOf(ntXent(tf.tensor2d(rows), { temperature })));
      expect(value).toBeCloseTo(expected(rows, temperature), 5);
    }
  });

  it('is smaller when each row sits next to its partner than when partners are swapped', () => {
    const aligned = tf.tidy(() => scalarOf(ntXent(tf.tensor2d(rows))));
    const swapped = [rows[0]!, rows[1]!, rows[2]!, rows[4]!, rows[5]!, rows[3]!];
    const misaligned = tf.tidy(() => scalarOf(ntXent(tf.tensor2d(swapped))));
    expect(aligned).toBeLessThan(misaligned);
  });

  it('stays finite for zero rows and huge values, and gives an attached zero for no rows', () => {
    const extreme = [
      [0, 0, 0],
      [1e6, -1e6, 1e6],
      [0, 0, 0],
      [1e-8, 0, 0],
    ];
    expect(Number.isFinite(tf.tidy(() => scalarOf(ntXent(tf.tensor2d(extreme)))))).toBe(true);
    expectAttachedZero((e) => ntXent(e), []);
  });

  it('names the shape rule and the temperature rule', () => {
    const odd = tf.zeros([3, 2]) as tf.Tensor2D;
    expect(() => ntXent(odd)).toThrow(
      'ntXent: embeddings has 3 rows, expected 2n (row i and row n + i are a positive pair)',
    );
    expect(() => ntXent(odd, { temperature: 0 })).toThrow(/temperature must be > 0/);
    odd.dispose();
  });

  it('has the gradient finite differences give', () => {
    checkGradient((e) => ntXent(e, { temperature: 0.5 }), rows);
  });

  it('leaks no tensor', () => {
    const x = tf.tensor2d(rows);
    expectNoLeak(() => ntXent(x));
    x.dispose();
  });
});
