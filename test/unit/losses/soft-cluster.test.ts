import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sinkhorn } from '../../../src/losses/sinkhorn.js';
import { logSoftAssignments, softCluster } from '../../../src/losses/soft-cluster.js';
import {
  close,
  expectAttachedZero,
  expectNoLeak,
  loadReference,
  ref,
  refMatrix,
  scalarOf,
  useTestBackend,
} from './helpers.js';

beforeAll(useTestBackend);

const reference = loadReference();
const x = refMatrix(reference, 'x');
const mu = refMatrix(reference, 'centroids');

/** Student-t soft assignments in plain JS (float64), straight from DEC's formula. */
function studentT(z: number[][], centroids: number[][], alpha: number): number[][] {
  return z.map((zi) => {
    const raw = centroids.map((m) => {
      const sq = m.reduce((s, mj, j) => s + ((zi[j] as number) - mj) ** 2, 0);
      return (1 + sq / alpha) ** (-(alpha + 1) / 2);
    });
    const total = raw.reduce((a, b) => a + b, 0);
    return raw.map((v) => v / total);
  });
}

/** KL(P‖Q(z)) / N with P fixed, in plain JS. */
function klFixedP(p: number[][], z: number[][], alpha: number): number {
  const q = studentT(z, mu, alpha);
  let s = 0;
  p.forEach((row, i) =>
    row.forEach((pij, j) => {
      if (pij > 0) s += pij * Math.log(pij / ((q[i] as number[])[j] as number));
    }),
  );
  return s / p.length;
}

describe('softCluster (DEC)', () => {
  for (const alpha of [1, 2.5]) {
    it(`matches the numpy reference: q, frequencies and KL(P‖Q), α = ${alpha}`, () => {
      const key = `dec_alpha_${alpha.toFixed(1)}`;
      const q = tf.tidy(() =>
        tf.exp(logSoftAssignments(tf.tensor2d(x), tf.tensor2d(mu), alpha)).dataSync(),
      );
      close(q, refMatrix(reference, `${key}_q`).flat(), 1e-6);
      const r = tf.tidy(() => {
        const out = softCluster(tf.tensor2d(x), tf.tensor2d(mu), { alpha });
        return { v: scalarOf(out.loss), f: out.frequencies };
      });
      expect(Math.abs(r.v - ref(reference, `${key}_loss`))).toBeLessThan(1e-5);
      close(r.f, reference[`${key}_frequencies`] as number[], 1e-6);
    });
  }

  it('worked example: one point at a centroid gives q = [2/3, 1/3] and zero loss', () => {
    const r = tf.tidy(() => {
      const out = softCluster(tf.tensor2d([[0]]), tf.tensor2d([[0], [1]]));
      return { v: scalarOf(out.loss), f: out.frequencies };
    });
    close(r.f, [2 / 3, 1 / 3], 1e-6);
    expect(Math.abs(r.v)).toBeLessThan(1e-6);
  });

  it('keeps the frequency estimate as an EMA across calls and restarts it when k changes', () => {
    const previous = Float32Array.from([0.5, 0.3, 0.2]);
    const batch = reference['dec_alpha_1.0_frequencies'] as number[];
    const expectedF = batch.map((b, j) => 0.9 * (previous[j] as number) + 0.1 * b);
    const r = tf.tidy(() => {
      const out = softCluster(tf.tensor2d(x), tf.tensor2d(mu), {
        frequencies: previous,
        momentum: 0.9,
      });
      return { v: scalarOf(out.loss), f: out.frequencies };
    });
    close(r.f, expectedF, 1e-6);
    // The target uses the updated estimate: p ∝ q² / f.
    const q = refMatrix(reference, 'dec_alpha_1.0_q');
    const p = q.map((row) => {
      const raw = row.map((v, j) => (v * v) / (expectedF[j] as number));
      const t = raw.reduce((a, b) => a + b, 0);
      return raw.map((v) => v / t);
    });
    expect(Math.abs(r.v - klFixedP(p, x, 1))).toBeLessThan(1e-5);
    expect(previous).toEqual(Float32Array.from([0.5, 0.3, 0.2]));
    const restarted = tf.tidy(
      () =>
        softCluster(tf.tensor2d(x), tf.tensor2d(mu), { frequencies: Float32Array.from([1, 0]) })
          .frequencies,
    );
    close(restarted, batch, 1e-6);
  });

  it('sinkhorn targets match the numpy reference', () => {
    const v = tf.tidy(() =>
      scalarOf(softCluster(tf.tensor2d(x), tf.tensor2d(mu), { target: 'sinkhorn' }).loss),
    );
    expect(Math.abs(v - ref(reference, 'dec_sinkhorn_loss'))).toBeLessThan(1e-5);
  });

  it('its gradient is that of KL(P‖Q) with P held fixed (finite differences in float64)', () => {
    for (const alpha of [1, 2.5]) {
      const p = refMatrix(reference, `dec_alpha_${alpha.toFixed(1)}_p`);
      const analytic = tf.tidy(() =>
        tf
          .grad((e: tf.Tensor) => softCluster(e as tf.Tensor2D, tf.tensor2d(mu), { alpha }).loss)(
            tf.tensor2d(x),
          )
          .arraySync(),
      ) as number[][];
      const h = 1e-6;
      x.forEach((row, i) =>
        row.forEach((v, j) => {
          const plus = x.map((r) => [...r]);
          const minus = x.map((r) => [...r]);
          (plus[i] as number[])[j] = v + h;
          (minus[i] as number[])[j] = v - h;
          const numeric = (klFixedP(p, plus, alpha) - klFixedP(p, minus, alpha)) / (2 * h);
          const got = (analytic[i] as number[])[j] as number;
          expect(Math.abs(got - numeric), `[${i}, ${j}] ${got} vs ${numeric}`).toBeLessThan(
            1e-4 + 1e-3 * Math.abs(numeric),
          );
        }),
      );
    }
  });

  it('has a finite gradient at zero distance (embeddings on a centroid)', () => {
    const g = tf.tidy(() =>
      tf
        .grad(
          (e: tf.Tensor) =>
            softCluster(
              e as tf.Tensor2D,
              tf.tensor2d([
                [1, 2],
                [0, 0],
              ]),
            ).loss,
        )(
          tf.tensor2d([
            [1, 2],
            [1, 2],
          ]),
        )
        .dataSync(),
    );
    for (const v of g) expect(Number.isFinite(v)).toBe(true);
  });

  it('sends no gradient into the centroids unless asked', () => {
    const c = tf.variable(tf.tensor2d(mu));
    const z = tf.tensor2d(x);
    const frozen = tf.variableGrads(() => softCluster(z, c).loss, [c]);
    expect(Array.from((frozen.grads[c.name] as tf.Tensor).dataSync()).every((v) => v === 0)).toBe(
      true,
    );
    const trained = tf.variableGrads(() => softCluster(z, c, { trainCentroids: true }).loss, [c]);
    expect(Array.from((trained.grads[c.name] as tf.Tensor).dataSync()).some((v) => v !== 0)).toBe(
      true,
    );
    tf.dispose([c, z, frozen.value, frozen.grads, trained.value, trained.grads]);
  });

  it('returns an attached zero for an empty batch and leaks nothing', () => {
    const c = tf.tensor2d(mu);
    expectAttachedZero((e) => softCluster(e, tf.zeros([2, 2]) as tf.Tensor2D).loss, []);
    const z = tf.tensor2d(x);
    for (const target of ['dec', 'sinkhorn'] as const) {
      expectNoLeak(() => softCluster(z, c, { target }).loss);
      expectNoLeak(() =>
        tf.grad((t: tf.Tensor) => softCluster(t as tf.Tensor2D, c, { target }).loss)(z),
      );
    }
    tf.dispose([c, z]);
  });
});

describe('sinkhorn', () => {
  const scores = refMatrix(reference, 'sinkhorn_scores');
  const [n, k] = [scores.length, (scores[0] as number[]).length];

  it('matches SwAV’s Sinkhorn-Knopp (numpy) after 3 and 200 iterations', () => {
    close(
      sinkhorn(scores.flat(), n, k, { epsilon: 0.5, iterations: 3 }),
      refMatrix(reference, 'sinkhorn_eps_0.5_iters_3').flat(),
      1e-5,
    );
    const balanced = sinkhorn(scores.flat(), n, k, { epsilon: 0.5, iterations: 200 });
    close(balanced, refMatrix(reference, 'sinkhorn_eps_0.5_iters_200').flat(), 1e-5);
    // Rows sum to 1 and, once converged, every cluster holds n/k of the mass.
    for (let j = 0; j < k; j++) {
      let column = 0;
      for (let i = 0; i < n; i++) column += balanced[i * k + j] as number;
      expect(Math.abs(column - n / k)).toBeLessThan(1e-4);
    }
  });

  it('stays finite for a tiny epsilon that would overflow exp(s/ε) in float32', () => {
    const p = sinkhorn(scores.flat(), n, k, { epsilon: 1e-3, iterations: 5 });
    for (let i = 0; i < n; i++) {
      let row = 0;
      for (let j = 0; j < k; j++) row += p[i * k + j] as number;
      expect(Math.abs(row - 1)).toBeLessThan(1e-5);
    }
  });

  it('gives uniform assignments for equal scores, and validates its parameters', () => {
    close(sinkhorn([0, 0, 0, 0], 2, 2), [0.5, 0.5, 0.5, 0.5], 1e-7);
    expect(() => sinkhorn([0, 0], 2, 2)).toThrow(/\[2, 2\] needs 4/);
    expect(() => sinkhorn([0, 0, 0, 0], 2, 2, { epsilon: 0 })).toThrow(/epsilon must be > 0/);
    expect(() => sinkhorn([0, 0, 0, 0], 2, 2, { iterations: 0 })).toThrow(/iterations/);
  });
});
