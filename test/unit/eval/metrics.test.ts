import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MetricUndefinedError,
  ari,
  calinskiHarabasz,
  clusteringAccuracy,
  contingencyTable,
  daviesBouldin,
  denseContingency,
  homogeneityCompletenessVMeasure,
  inertia,
  nmi,
  purity,
  silhouette,
} from '../../../src/eval/metrics/index.js';
import { sampleIndices } from '../../../src/eval/metrics/sample-indices.js';
import { StreamclustError } from '../../../src/errors.js';

// Values scikit-learn 1.9 printed, written by scripts/reference/clustering-metrics.py.
type Expected = number | { error: string };
interface PointCase {
  name: string;
  points: number[][];
  labels: number[];
  float32Exact: boolean;
  expected: {
    silhouette: { euclidean: Expected; cosine: Expected };
    daviesBouldin: Expected;
    calinskiHarabasz: Expected;
    inertia: number;
  };
  kmeans?: { centroids: number[][]; inertia: number };
}
interface LabelCase {
  name: string;
  labelsTrue: number[];
  labelsPred: number[];
  expected: {
    nmi: Record<'arithmetic' | 'geometric' | 'min' | 'max', number>;
    ari: number;
    purity: Expected;
    clusteringAccuracy: Expected;
    homogeneityCompletenessVMeasure: Record<
      string,
      { homogeneity: number; completeness: number; vMeasure: number }
    >;
  };
}
const reference = JSON.parse(
  readFileSync(
    new URL('../../fixtures/reference/clustering-metrics.json', import.meta.url),
    'utf8',
  ),
) as { pointCases: PointCase[]; labelCases: LabelCase[] };

// 1e-6 absolute for values of magnitude up to 1 (every bounded score), 1e-6 relative above that
// (Calinski-Harabasz and inertia grow with the data).
function expectClose(actual: number, expected: number): void {
  expect(Number.isFinite(actual)).toBe(true);
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
}

function expectReference(compute: () => number, expected: Expected, metric: string): void {
  if (typeof expected === 'number') {
    expectClose(compute(), expected);
    return;
  }
  // scikit-learn raised: here the same input must raise the typed error naming the metric.
  expect(compute).toThrow(MetricUndefinedError);
  expect(compute).toThrow(
    new RegExp(
      `^${metric} needs between 2 and n_samples - 1 = -?\\d+ clusters; got \\d+ clusters?$`,
    ),
  );
}

describe('point metrics match scikit-learn', () => {
  expect(reference.pointCases.length).toBeGreaterThan(15);
  describe.each(reference.pointCases)('$name', (c) => {
    it('silhouette, euclidean and cosine', () => {
      expectReference(
        () => silhouette(c.points, c.labels),
        c.expected.silhouette.euclidean,
        'silhouette',
      );
      expectReference(
        () => silhouette(c.points, c.labels, { metric: 'cosine' }),
        c.expected.silhouette.cosine,
        'silhouette',
      );
    });

    it('silhouette of the same points as one flat array', () => {
      const dim = c.points[0]!.length;
      const flat64 = Float64Array.from(c.points.flat());
      expectReference(
        () => silhouette(flat64, c.labels, { dim }),
        c.expected.silhouette.euclidean,
        'silhouette',
      );
      if (c.float32Exact) {
        const flat32 = Float32Array.from(c.points.flat());
        expectReference(
          () => silhouette(flat32, c.labels, { dim, metric: 'cosine' }),
          c.expected.silhouette.cosine,
          'silhouette',
        );
      }
    });

    it('Davies-Bouldin', () => {
      expectReference(
        () => daviesBouldin(c.points, c.labels),
        c.expected.daviesBouldin,
        'daviesBouldin',
      );
    });

    it('Calinski-Harabasz', () => {
      expectReference(
        () => calinskiHarabasz(c.points, c.labels),
        c.expected.calinskiHarabasz,
        'calinskiHarabasz',
      );
    });

    it('inertia against the cluster means and against KMeans centroids', () => {
      expectClose(inertia(c.points, c.labels), c.expected.inertia);
      if (c.kmeans) expectClose(inertia(c.points, c.labels, c.kmeans.centroids), c.kmeans.inertia);
    });
  });

  it('includes the float32 and KMeans cases the loops above rely on', () => {
    expect(reference.pointCases.some((c) => c.float32Exact)).toBe(true);
    expect(reference.pointCases.filter((c) => c.kmeans).length).toBe(3);
  });
});

describe('label metrics match scikit-learn', () => {
  describe.each(reference.labelCases)('$name', (c) => {
    const { labelsTrue: t, labelsPred: p, expected } = c;

    it('NMI with every averaging method', () => {
      expectClose(nmi(t, p), expected.nmi.arithmetic);
      for (const averageMethod of ['arithmetic', 'geometric', 'min', 'max'] as const) {
        expectClose(nmi(t, p, { averageMethod }), expected.nmi[averageMethod]);
      }
    });

    it('ARI', () => {
      expectClose(ari(t, p), expected.ari);
    });

    it('purity and clustering accuracy', () => {
      for (const [fn, want, name] of [
        [purity, expected.purity, 'purity'],
        [clusteringAccuracy, expected.clusteringAccuracy, 'clusteringAccuracy'],
      ] as const) {
        if (typeof want === 'number') expectClose(fn(t, p), want);
        else
          expect(() => fn(t, p)).toThrow(
            new MetricUndefinedError(name, `${name} needs at least 1 sample; got 0`),
          );
      }
    });

    it('homogeneity, completeness and V-measure for beta 1, 0.5 and 2', () => {
      const betas = Object.keys(expected.homogeneityCompletenessVMeasure);
      expect(betas).toEqual(['1.0', '0.5', '2.0']);
      for (const beta of betas) {
        const got = homogeneityCompletenessVMeasure(t, p, { beta: Number(beta) });
        const want = expected.homogeneityCompletenessVMeasure[beta]!;
        expectClose(got.homogeneity, want.homogeneity);
        expectClose(got.completeness, want.completeness);
        expectClose(got.vMeasure, want.vMeasure);
      }
    });
  });
});

describe('hand-worked cases', () => {
  it('silhouette of two pairs on a line is (19/21 + 17/19) / 2', () => {
    expect(silhouette([[0], [1], [10], [11]], [0, 0, 1, 1])).toBeCloseTo(359 / 399, 14);
  });

  it('silhouette scores a singleton 0 and keeps it in the mean', () => {
    // Points 0 and 1: a = 1, b = 10 and 9, so 9/10 and 8/9; the singleton at 10 adds 0.
    expect(silhouette([[0], [1], [10]], [0, 0, 1])).toBeCloseTo((9 / 10 + 8 / 9) / 3, 14);
  });

  it('purity of a 2 x 2 table is the column maxima over n', () => {
    // Table rows = true a, b; columns = pred x, y: [[3, 1], [2, 4]]. Column maxima 3 and 4 → 7/10.
    const t = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
    const p = [5, 5, 5, 6, 5, 5, 6, 6, 6, 6];
    expect(denseContingency(contingencyTable(t, p))).toEqual([
      [3, 1],
      [2, 4],
    ]);
    expect(purity(t, p)).toBe(0.7);
    // Best matching a↔x (3) and b↔y (4) is also 7/10 here; swapping gives 1 + 2 = 3.
    expect(clusteringAccuracy(t, p)).toBe(0.7);
  });

  it('clustering accuracy leaves surplus clusters unmatched; purity does not', () => {
    // One class split over three clusters: only the largest (3) can be matched.
    const t = [0, 0, 0, 0, 0, 0, 1, 1];
    const p = [0, 0, 0, 1, 1, 2, 3, 3];
    expect(clusteringAccuracy(t, p)).toBe(5 / 8);
    expect(purity(t, p)).toBe(1);
  });

  it('ARI from pair counts worked by hand', () => {
    // t = [0,0,1,1], p = [0,0,0,1]: unordered pairs together in both: {0,1} → 1; only in t: {2,3};
    // only in p: {0,2}, {1,2}; apart in both: 2. ARI = 2(1·2 - 1·2)/((1+1)(1+2)+(1+2)(2+2)) = 0.
    expect(ari([0, 0, 1, 1], [0, 0, 0, 1])).toBe(0);
    // t = [0,0,0,1,1,1], p = [0,0,1,1,2,2], unordered pairs: together in both {0,1}, {4,5};
    // only in p {2,3}; only in t {0,2}, {1,2}, {3,4}, {3,5}; the other 8 apart in both.
    // Ordered (scikit-learn's counts): tp = 4, fp = 2, fn = 8, tn = 16.
    expect(ari([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])).toBeCloseTo(
      (2 * (4 * 16 - 8 * 2)) / ((4 + 8) * (8 + 16) + (4 + 2) * (2 + 16)),
      15,
    );
  });

  it('NMI equals V-measure with beta 1 and arithmetic averaging', () => {
    const t = [3, 3, -1, -1, 7, 7, 7, 0];
    const p = [1, 1, 1, 2, 2, 9, 9, 9];
    expect(nmi(t, p)).toBeCloseTo(homogeneityCompletenessVMeasure(t, p).vMeasure, 14);
  });

  it('NMI of one cluster against singletons is 0, of a relabelling 1', () => {
    expect(nmi([1, 1, 1], [0, 1, 2])).toBe(0);
    expect(nmi([0, 0, 1, 2], [-4, -4, 8, 5])).toBeCloseTo(1, 14);
  });

  it('inertia with given centroids measures against them, not the means', () => {
    // Means would be 1 and 10 (inertia 2); centroids 0 and 10 give 0 + 4 + 0 = 4.
    expect(inertia([[0], [2], [10]], [0, 0, 1], [[0], [10]])).toBe(4);
    expect(inertia([[0], [2], [10]], [0, 0, 1])).toBe(2);
  });
});

describe('errors', () => {
  it('MetricUndefinedError names the metric, the cluster count and the rule', () => {
    const points = Array.from({ length: 10 }, (_, i) => [i, i * i]);
    const ones = new Array<number>(10).fill(1);
    let caught: unknown;
    try {
      silhouette(points, ones);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MetricUndefinedError);
    const error = caught as MetricUndefinedError;
    expect(error.message).toBe(
      'silhouette needs between 2 and n_samples - 1 = 9 clusters; got 1 cluster',
    );
    expect(error.metric).toBe('silhouette');
    expect(error.retriable).toBe(false);
    expect(error).toBeInstanceOf(StreamclustError);
    expect(error.name).toBe('MetricUndefinedError');
    const singletons = points.map((_, i) => i);
    expect(() => daviesBouldin(points, singletons)).toThrow(
      'daviesBouldin needs between 2 and n_samples - 1 = 9 clusters; got 10 clusters',
    );
    expect(() => calinskiHarabasz(points, ones)).toThrow(
      'calinskiHarabasz needs between 2 and n_samples - 1 = 9 clusters; got 1 cluster',
    );
  });

  it('mismatched lengths name both lengths', () => {
    expect(() => silhouette([[0], [1], [2]], [0, 1])).toThrow(
      'points and labels must have the same length; got 3 and 2',
    );
    expect(() => nmi([0, 1], [0, 1, 1])).toThrow(
      'labelsTrue and labelsPred must have the same length; got 2 and 3',
    );
    expect(() => ari([0], [])).toThrow(RangeError);
    expect(() => inertia([[0]], [0, 0])).toThrow('got 1 and 2');
  });

  it('rejects ragged rows, bad flat shapes, non-finite values and bad options', () => {
    expect(() => daviesBouldin([[0, 1], [2]], [0, 1])).toThrow(
      'points[1] has 1 values but points[0] has 2',
    );
    expect(() => silhouette(new Float32Array(6), [0, 1, 0], { dim: 4 })).toThrow(
      'not a multiple of dim = 4',
    );
    expect(() => silhouette(new Float32Array(6), [0, 1, 0])).toThrow(
      'flat points need a positive integer dim',
    );
    expect(() => calinskiHarabasz([[0], [NaN], [2]], [0, 1, 1])).toThrow(
      'point 1, feature 0 must be finite',
    );
    expect(() => nmi([0, NaN], [0, 1])).toThrow('labelsTrue[1] must be a finite number');
    expect(() => silhouette([[0], [1], [2]], [0, 1, 1], { sampleSize: 0 })).toThrow(
      'positive integer',
    );
    expect(() => inertia([[0], [1]], [0, 2], [[0], [1]])).toThrow(
      'labels[1] must be an index 0..1; got 2',
    );
    expect(() =>
      inertia(
        [[0], [1]],
        [0, 1],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    ).toThrow('centroids have 2 features but points have 1');
    expect(() => homogeneityCompletenessVMeasure([0], [0], { beta: -1 })).toThrow('beta must be');
    expect(() => nmi([0, 1], [0, 1], { averageMethod: 'median' as never })).toThrow(
      "nmi averageMethod must be 'arithmetic', 'geometric', 'min' or 'max'; got 'median'",
    );
    expect(() => silhouette([[0], [1], [2]], [0, 1, 1], { metric: 'manhattan' as never })).toThrow(
      "silhouette metric must be 'euclidean' or 'cosine'; got 'manhattan'",
    );
  });

  it('V-measure with beta 0 and completeness 0 is undefined, not NaN', () => {
    // Constant truth: homogeneity 1, completeness 0, so V = 1 · 0 / (0 · 1 + 0).
    expect(() => homogeneityCompletenessVMeasure([0, 0, 0], [0, 1, 2], { beta: 0 })).toThrow(
      MetricUndefinedError,
    );
    expect(homogeneityCompletenessVMeasure([0, 0, 1], [0, 1, 2], { beta: 0 }).vMeasure).toBeCloseTo(
      1,
      14,
    );
  });
});

describe('silhouette sampling', () => {
  const blobs = reference.pointCases.find((c) => c.name === 'blobs n=400 d=8 true labels')!;
  const exact = blobs.expected.silhouette.euclidean as number;

  it('with sampleSize >= n is the exact score', () => {
    expectClose(silhouette(blobs.points, blobs.labels, { sampleSize: 400 }), exact);
    expectClose(silhouette(blobs.points, blobs.labels, { sampleSize: 10_000, seed: 3 }), exact);
  });

  it('scores exactly the seeded subset, and the same seed gives the same value', () => {
    const indices = sampleIndices(400, 50, 42);
    const subset = silhouette(
      Array.from(indices, (i) => blobs.points[i]!),
      Array.from(indices, (i) => blobs.labels[i]!),
    );
    const sampled = silhouette(blobs.points, blobs.labels, { sampleSize: 50, seed: 42 });
    expect(sampled).toBe(subset);
    expect(silhouette(blobs.points, blobs.labels, { sampleSize: 50, seed: 42 })).toBe(sampled);
    expect(silhouette(blobs.points, blobs.labels, { sampleSize: 50, seed: 43 })).not.toBe(sampled);
  });

  it('draws distinct in-range indices, sorted', () => {
    const indices = Array.from(sampleIndices(1000, 300, 7));
    expect(indices).toHaveLength(300);
    expect(new Set(indices).size).toBe(300);
    expect(indices.every((i, k) => i >= 0 && i < 1000 && (k === 0 || i > indices[k - 1]!))).toBe(
      true,
    );
    expect(Array.from(sampleIndices(5, 9, 1))).toEqual([0, 1, 2, 3, 4]);
  });

  it('averages to the exact score over many seeds', () => {
    let sum = 0;
    for (let seed = 0; seed < 40; seed++)
      sum += silhouette(blobs.points, blobs.labels, { sampleSize: 200, seed });
    expect(Math.abs(sum / 40 - exact)).toBeLessThan(0.01);
  });
});

describe('inputs', () => {
  it('are not mutated', () => {
    const points = [
      [0, 1],
      [1, 1],
      [5, 5],
      [6, 5],
    ];
    const labels = [2, 2, -1, -1];
    const snapshot = JSON.stringify([points, labels]);
    silhouette(points, labels, { metric: 'cosine' });
    daviesBouldin(points, labels);
    calinskiHarabasz(points, labels);
    inertia(points, labels);
    nmi(labels, [0, 1, 0, 1]);
    clusteringAccuracy(labels, [0, 1, 0, 1]);
    expect(JSON.stringify([points, labels])).toBe(snapshot);
  });

  it('contingencyTable lists classes and clusters ascending with sparse non-zero cells', () => {
    const table = contingencyTable([10, -3, 10, 4], [0, 0, 7, 7]);
    expect(table.classes).toEqual([-3, 4, 10]);
    expect(table.clusters).toEqual([0, 7]);
    expect(table.cells).toEqual([
      { row: 0, col: 0, count: 1 },
      { row: 1, col: 1, count: 1 },
      { row: 2, col: 0, count: 1 },
      { row: 2, col: 1, count: 1 },
    ]);
    expect(table.rowSums).toEqual([1, 1, 2]);
    expect(table.colSums).toEqual([2, 2]);
    expect(table.n).toBe(4);
  });
});
