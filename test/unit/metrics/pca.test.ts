import { describe, expect, it } from 'vitest';

import { pca2, project } from '../../../src/metrics/pca.js';

describe('pca2', () => {
  it('reproduces the documented example', () => {
    const rows = Float64Array.from([0, 0, 2, 0, 4, 0]);
    const model = pca2(rows, 2);
    expect([...model.mean]).toEqual([2, 0]);
    expect([...model.components[0]]).toEqual([1, 0]);
    expect([...model.components[1]]).toEqual([0, 0]);
    expect(model.variances[0]).toBeCloseTo(8 / 3, 12);
    expect(model.variances[1]).toBe(0);
    expect([...project(rows, 2, model)]).toEqual([-2, 0, 0, 0, 2, 0]);
  });

  it('finds the axes of a rotated anisotropic cloud (closed form: the rotation)', () => {
    // Points on an ellipse with semi-axes 3 and 1, rotated by 30° in the x-y plane of 3-D:
    // covariance eigenvalues 9/2 and 1/2 along (cos30, sin30, 0) and (-sin30, cos30, 0).
    const angle = Math.PI / 6;
    const n = 360;
    const rows = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const a = 3 * Math.cos((2 * Math.PI * i) / n);
      const b = Math.sin((2 * Math.PI * i) / n);
      rows[i * 3] = 5 + a * Math.cos(angle) - b * Math.sin(angle);
      rows[i * 3 + 1] = -1 + a * Math.sin(angle) + b * Math.cos(angle);
      rows[i * 3 + 2] = 7;
    }
    const model = pca2(rows, 3);
    expect(model.variances[0]).toBeCloseTo(4.5, 9);
    expect(model.variances[1]).toBeCloseTo(0.5, 9);
    const [first, second] = model.components;
    expect(first[0]).toBeCloseTo(Math.cos(angle), 6);
    expect(first[1]).toBeCloseTo(Math.sin(angle), 6);
    // Sign convention: the largest-magnitude entry is positive.
    expect(Math.abs(second[0]!)).toBeCloseTo(Math.sin(angle), 6);
    expect(second[1]).toBeCloseTo(Math.cos(angle), 6);
    expect(first[2]).toBeCloseTo(0, 9);
    const projected = project(rows, 3, model);
    expect(projected[0]).toBeCloseTo(3, 6);
    expect(Math.abs(projected[1]!)).toBeCloseTo(0, 6);
  });

  it('handles no rows and constant rows without NaN', () => {
    const empty = pca2(new Float32Array(0), 4);
    expect([...empty.mean]).toEqual([0, 0, 0, 0]);
    expect(empty.variances).toEqual([0, 0]);
    const constant = pca2(Float32Array.from([1, 2, 1, 2, 1, 2]), 2);
    expect([...project(Float32Array.from([1, 2]), 2, constant)]).toEqual([0, 0]);
  });
});
