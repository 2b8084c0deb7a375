import { checkSameLength, encodeLabels } from './encode-labels.js';

/** One non-zero cell: how many samples have class `classes[row]` and cluster `clusters[col]`. */
export interface ContingencyCell {
  readonly row: number;
  readonly col: number;
  readonly count: number;
}

/**
 * Cross-tabulation of two labellings, scikit-learn's `contingency_matrix` kept sparse: n samples
 * with n distinct labels on both sides would otherwise need an n x n table.
 */
export interface ContingencyTable {
  /** Distinct values of labelsTrue, ascending (the rows). */
  readonly classes: readonly number[];
  /** Distinct values of labelsPred, ascending (the columns). */
  readonly clusters: readonly number[];
  /** Non-zero cells, ordered by row and then column. */
  readonly cells: readonly ContingencyCell[];
  /** Samples per class (row sums). */
  readonly rowSums: readonly number[];
  /** Samples per cluster (column sums). */
  readonly colSums: readonly number[];
  /** Number of samples. */
  readonly n: number;
}

export function contingencyTable(
  labelsTrue: ArrayLike<number>,
  labelsPred: ArrayLike<number>,
): ContingencyTable {
  checkSameLength('labelsTrue', labelsTrue.length, 'labelsPred', labelsPred.length);
  const rows = encodeLabels(labelsTrue, 'labelsTrue');
  const cols = encodeLabels(labelsPred, 'labelsPred');
  const width = cols.values.length;
  const counts = new Map<number, number>();
  for (let i = 0; i < labelsTrue.length; i++) {
    const key = rows.codes[i]! * width + cols.codes[i]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const cells = [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([key, count]) => ({ row: Math.floor(key / width), col: key % width, count }));
  return {
    classes: rows.values,
    clusters: cols.values,
    cells,
    rowSums: Array.from(rows.counts),
    colSums: Array.from(cols.counts),
    n: labelsTrue.length,
  };
}

/** The table as a dense classes x clusters array of counts, scikit-learn's default layout. */
export function denseContingency(table: ContingencyTable): number[][] {
  const dense = table.classes.map(() => new Array<number>(table.clusters.length).fill(0));
  for (const { row, col, count } of table.cells) dense[row]![col] = count;
  return dense;
}
