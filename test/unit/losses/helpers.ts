/**
 * Shared checks for the loss tests: finite-difference gradients, tensor leaks, and the numpy
 * reference values (scripts/reference/losses.py → test/fixtures/reference/losses.json).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

import { describeChoice, selectBackend, type BackendRequest } from '../../../src/model/backend.js';

let announced = false;

/**
 * The backend the loss tests compute on: the one production picks (native TensorFlow once
 * `npm run setup:native` built it, else wasm), or STREAMCLUST_TEST_BACKEND (tensorflow, wasm,
 * cpu) to check another. Said once per file, so the log shows what the figures were checked on.
 */
export async function useTestBackend(): Promise<void> {
  const request = (process.env['STREAMCLUST_TEST_BACKEND'] ?? 'auto') as BackendRequest;
  const choice = await selectBackend(tf, request);
  if (!announced) {
    announced = true;
    console.log(`[losses] ${describeChoice(choice)}`);
  }
}

export type Reference = Record<string, number | number[] | number[][]>;

export function loadReference(): Reference {
  const url = new URL('../../fixtures/reference/losses.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Reference;
}

export function ref(r: Reference, key: string): number {
  const v = r[key];
  if (typeof v !== 'number') throw new Error(`reference ${key} is not a number`);
  return v;
}

export function refMatrix(r: Reference, key: string): number[][] {
  const v = r[key];
  if (!Array.isArray(v) || !Array.isArray(v[0]))
    throw new Error(`reference ${key} is not a matrix`);
  return v as number[][];
}

export function scalarOf(t: tf.Tensor): number {
  return t.dataSync()[0] as number;
}

/**
 * Compares tf.grad of `f` at `x0` with central differences. Float32 limits the accuracy of the
 * numeric side to about 1e-7 / h, hence the step and tolerances. `f` must be smooth within ±h
 * of `x0` (no hinge kink or mining switch nearby), which the callers arrange.
 */
export function checkGradient(
  f: (x: tf.Tensor2D) => tf.Scalar,
  x0: number[][],
  options: { h?: number; atol?: number; rtol?: number } = {},
): void {
  const h = options.h ?? 1e-2;
  const atol = options.atol ?? 2e-3;
  const rtol = options.rtol ?? 2e-2;
  const x = tf.tensor2d(x0);
  const analytic = tf
    .tidy(() => tf.grad((t: tf.Tensor) => f(t as tf.Tensor2D))(x))
    .arraySync() as number[][];
  x.dispose();
  const evaluate = (values: number[][]): number => tf.tidy(() => scalarOf(f(tf.tensor2d(values))));
  for (let i = 0; i < x0.length; i++) {
    const row = x0[i] as number[];
    for (let j = 0; j < row.length; j++) {
      const plus = x0.map((r) => [...r]);
      const minus = x0.map((r) => [...r]);
      (plus[i] as number[])[j] = (row[j] as number) + h;
      (minus[i] as number[])[j] = (row[j] as number) - h;
      const numeric = (evaluate(plus) - evaluate(minus)) / (2 * h);
      const got = (analytic[i] as number[])[j] as number;
      expect(Number.isFinite(got), `gradient [${i}, ${j}] is ${got}`).toBe(true);
      expect(
        Math.abs(got - numeric),
        `gradient [${i}, ${j}]: analytic ${got}, numeric ${numeric}`,
      ).toBeLessThanOrEqual(atol + rtol * Math.abs(numeric));
    }
  }
}

/** Runs `step` once to warm up (kernels, caches), then asserts a second run leaks no tensor. */
export function expectNoLeak(step: () => tf.TensorContainer): void {
  tf.dispose(step());
  const before = tf.memory().numTensors;
  tf.dispose(step());
  expect(tf.memory().numTensors).toBe(before);
}

/** The value and every gradient entry are exactly zero, and a gradient exists at all. */
export function expectAttachedZero(f: (x: tf.Tensor2D) => tf.Scalar, x0: number[][]): void {
  // An empty batch still needs a dim; 2 stands for any.
  const x = x0.length === 0 ? tf.zeros([0, 2]) : tf.tensor2d(x0);
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => f(t as tf.Tensor2D))(x);
  expect(Math.abs(scalarOf(value))).toBe(0);
  const g = grad.dataSync();
  expect(g.length).toBe(x.size);
  for (const v of g) expect(Math.abs(v)).toBe(0);
  tf.dispose([x, value, grad]);
}

export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(
      Math.abs((actual[i] as number) - (expected[i] as number)),
      `index ${i}: ${actual[i]} vs ${expected[i]}`,
    ).toBeLessThanOrEqual(tol);
  }
}

/** Like tf.tidy, but for results that hold non-tensor objects (tidy only takes containers). */
export function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}
