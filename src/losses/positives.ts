/**
 * Where the miners' labels come from in an unlabelled stream: the integer label of each row of
 * a batch, such that equal labels mean "positives of each other".
 *
 * Sources (`source`):
 * - `field`: a record field (e.g. a user or session id carried in the payload); `fieldValues`
 *   holds each record's value.
 * - `key`: the Kafka record key (the same entity is a positive); `keys` holds each key as a
 *   string or the raw bytes.
 * - `pseudo`: the current cluster assignment from the centroid store (`clusterIds`); this
 *   self-training signal sharpens the clusters the store already has.
 * - `views`: two augmented views of each record (augment.ts): the batch the network sees is
 *   2n rows and row i and row n + i share a label.
 * - `neighbours`: a record and one of its nearest neighbours in input space
 *   (neighbour-views.ts), the same 2n-row layout.
 *
 * A missing value (null, undefined, an empty key, a negative cluster id for a record the store
 * has not assigned) gets a label of its own, so it is never anyone's positive but can still be
 * a negative. Labels are dense small integers in order of first appearance, so the same batch
 * always resolves to the same labels.
 */
export type LabelSource = 'field' | 'key' | 'pseudo' | 'views' | 'neighbours';

export interface LabelSourceBatch {
  /** Number of records in the batch. */
  n: number;
  fieldValues?: ReadonlyArray<string | number | boolean | null | undefined>;
  keys?: ReadonlyArray<string | Uint8Array | null | undefined>;
  clusterIds?: ArrayLike<number>;
}

export function resolveLabels(source: LabelSource, batch: LabelSourceBatch): Int32Array {
  const { n } = batch;
  switch (source) {
    case 'views':
    case 'neighbours':
      return viewLabels(n);
    case 'pseudo':
      return denseLabels(n, required(batch.clusterIds, 'clusterIds', source, n), (v) =>
        v < 0 ? undefined : String(v),
      );
    case 'field':
      return denseLabels(n, required(batch.fieldValues, 'fieldValues', source, n), (v) =>
        v === null || v === undefined ? undefined : `${typeof v}:${String(v)}`,
      );
    case 'key':
      return denseLabels(n, required(batch.keys, 'keys', source, n), (v) => {
        if (v === null || v === undefined || v.length === 0) return undefined;
        return typeof v === 'string'
          ? `s:${v}`
          : `b:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
      });
  }
}

/** [0, 1, …, n−1, 0, 1, …, n−1]: row i and row n + i are the two views of record i. */
export function viewLabels(n: number): Int32Array {
  const labels = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    labels[i] = i;
    labels[n + i] = i;
  }
  return labels;
}

function required<T extends ArrayLike<unknown>>(
  values: T | undefined,
  name: string,
  source: LabelSource,
  n: number,
): T {
  if (values === undefined) {
    throw new Error(`positives source '${source}' needs batch.${name}, which is missing`);
  }
  if (values.length !== n) {
    throw new Error(`batch.${name} has ${values.length} entries but the batch has ${n} records`);
  }
  return values;
}

function denseLabels<V>(
  n: number,
  values: ArrayLike<V>,
  keyOf: (v: V) => string | undefined,
): Int32Array {
  const ids = new Map<string, number>();
  const labels = new Int32Array(n);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = keyOf(values[i] as V);
    if (key === undefined) {
      missing.push(i);
      continue;
    }
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    labels[i] = id;
  }
  // Missing values come after every real label so the real ones stay dense from 0.
  missing.forEach((row, m) => {
    labels[row] = ids.size + m;
  });
  return labels;
}
