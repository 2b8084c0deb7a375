/** Labels mapped to 0..k-1 in ascending order of their values, like scikit-learn's LabelEncoder. */
export interface EncodedLabels {
  /** The code of every sample, in input order. */
  readonly codes: Int32Array;
  /** The distinct label values, ascending; `values[code]` is the original label. */
  readonly values: readonly number[];
  /** How many samples carry each code. */
  readonly counts: Int32Array;
}

/**
 * Encodes arbitrary label values (negative, sparse, any finite number) so the metrics depend only
 * on the partition. Ascending order matters only for reproducing scikit-learn's table layout.
 */
export function encodeLabels(labels: ArrayLike<number>, name = 'labels'): EncodedLabels {
  const n = labels.length;
  const distinct = new Set<number>();
  for (let i = 0; i < n; i++) {
    const value = labels[i]!;
    if (!Number.isFinite(value)) {
      throw new RangeError(`${name}[${i}] must be a finite number; got ${String(value)}`);
    }
    distinct.add(value);
  }
  const values = [...distinct].sort((a, b) => a - b);
  const codeOf = new Map<number, number>();
  values.forEach((value, code) => codeOf.set(value, code));
  const codes = new Int32Array(n);
  const counts = new Int32Array(values.length);
  for (let i = 0; i < n; i++) {
    const code = codeOf.get(labels[i]!)!;
    codes[i] = code;
    counts[code] = counts[code]! + 1;
  }
  return { codes, values, counts };
}

/** Both inputs of a metric must describe the same samples. */
export function checkSameLength(
  firstName: string,
  firstLength: number,
  secondName: string,
  secondLength: number,
): void {
  if (firstLength !== secondLength) {
    throw new RangeError(
      `${firstName} and ${secondName} must have the same length; got ${firstLength} and ${secondLength}`,
    );
  }
}
