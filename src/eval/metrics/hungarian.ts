export interface Assignment {
  /** Assigned row indices, ascending. */
  readonly rows: number[];
  /** `cols[i]` is the column assigned to `rows[i]`. */
  readonly cols: number[];
  /** Sum of the assigned entries of the original matrix. */
  readonly total: number;
}

/**
 * Linear sum assignment (the Hungarian method): pairs min(rows, cols) rows with distinct columns
 * so that the sum of the chosen entries is minimal, or maximal with `maximize`. The same problem
 * and result shape as SciPy's `linear_sum_assignment`; with ties the chosen pairs may differ,
 * the total does not.
 *
 * Differs from the textbook matrix-reduction version: it grows the matching one row at a time
 * along a shortest augmenting path, keeping dual potentials u (rows) and v (columns) so that
 * reduced costs a[i][j] - u[i] - v[j] stay non-negative (Jonker-Volgenant style, Dijkstra on
 * reduced costs). O(r^2 * c) for r <= c rows and columns (a wide matrix is transposed first), so
 * O(n^3) for a square one; O(r * c) memory. Entries must be finite.
 *
 * Example: hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]) gives rows [0, 1, 2], cols [1, 0, 2],
 * total 5.
 */
export function hungarian(
  cost: readonly ArrayLike<number>[],
  options: { maximize?: boolean } = {},
): Assignment {
  const nRows = cost.length;
  const nCols = nRows === 0 ? 0 : cost[0]!.length;
  for (let i = 0; i < nRows; i++) {
    const row = cost[i]!;
    if (row.length !== nCols) {
      throw new RangeError(`cost[${i}] has ${row.length} entries but cost[0] has ${nCols}`);
    }
    for (let j = 0; j < nCols; j++) {
      if (!Number.isFinite(row[j])) {
        throw new RangeError(`cost[${i}][${j}] must be finite; got ${String(row[j])}`);
      }
    }
  }
  if (nRows === 0 || nCols === 0) return { rows: [], cols: [], total: 0 };

  // The solver needs rows <= cols; a tall matrix is solved transposed and mapped back.
  const transposed = nRows > nCols;
  const r = transposed ? nCols : nRows;
  const c = transposed ? nRows : nCols;
  const sign = options.maximize === true ? -1 : 1;
  const a = new Float64Array(r * c);
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < nCols; j++) {
      a[transposed ? j * c + i : i * c + j] = sign * cost[i]![j]!;
    }
  }
  const rowOfCol = solveWide(a, r, c);

  const pairs: [number, number][] = [];
  for (let j = 0; j < c; j++) {
    const i = rowOfCol[j]!;
    if (i >= 0) pairs.push(transposed ? [j, i] : [i, j]);
  }
  pairs.sort((x, y) => x[0] - y[0]);
  const rows = pairs.map(([i]) => i);
  const cols = pairs.map(([, j]) => j);
  const total = pairs.reduce((sum, [i, j]) => sum + cost[i]![j]!, 0);
  return { rows, cols, total };
}

/**
 * Minimum-cost assignment of every one of r rows to distinct columns of an r x c (r <= c)
 * row-major matrix. Returns, for each column, its row or -1.
 */
function solveWide(a: Float64Array, r: number, c: number): Int32Array {
  // Index 0 of the column arrays is a virtual column that holds the row being inserted, which
  // keeps the augmenting-path bookkeeping free of special cases.
  const u = new Float64Array(r + 1);
  const v = new Float64Array(c + 1);
  const rowOf = new Int32Array(c + 1); // 1-based row matched to column j, 0 = free
  const previous = new Int32Array(c + 1); // column before j on the shortest path
  const slack = new Float64Array(c + 1);
  const visited = new Uint8Array(c + 1);

  for (let row = 1; row <= r; row++) {
    rowOf[0] = row;
    let col = 0;
    slack.fill(Infinity);
    visited.fill(0);
    // Dijkstra over columns on reduced costs until the path reaches a free column.
    do {
      visited[col] = 1;
      const i = rowOf[col]!;
      let delta = Infinity;
      let nextCol = 0;
      for (let j = 1; j <= c; j++) {
        if (visited[j] === 1) continue;
        const reduced = a[(i - 1) * c + (j - 1)]! - u[i]! - v[j]!;
        if (reduced < slack[j]!) {
          slack[j] = reduced;
          previous[j] = col;
        }
        if (slack[j]! < delta) {
          delta = slack[j]!;
          nextCol = j;
        }
      }
      // Shifting the potentials by delta keeps every reduced cost non-negative and makes the
      // cheapest tight edge zero.
      for (let j = 0; j <= c; j++) {
        if (visited[j] === 1) {
          const matched = rowOf[j]!;
          u[matched] = u[matched]! + delta;
          v[j] = v[j]! - delta;
        } else {
          slack[j] = slack[j]! - delta;
        }
      }
      col = nextCol;
    } while (rowOf[col] !== 0);
    // Flip the matching along the path back to the virtual column.
    do {
      const before = previous[col]!;
      rowOf[col] = rowOf[before]!;
      col = before;
    } while (col !== 0);
  }

  const result = new Int32Array(c).fill(-1);
  for (let j = 1; j <= c; j++) if (rowOf[j]! > 0) result[j - 1] = rowOf[j]! - 1;
  return result;
}
