/**
 * One quick read of a bounded source before an evaluation: how many records one pass holds (the
 * progress bar's total, the window size) and which labels occur (k, when the user did not
 * choose it; string labels get ids in sorted order). Nothing is decoded beyond the label field.
 */
import type { Source } from '../sources/source.js';

export interface LabelScan {
  records: number;
  /** Distinct labels: integers, or strings (class names). */
  labels: Set<number | string>;
  /** The distinct string labels, sorted: their ids for decode.labelValues. */
  names: string[];
}

export async function scanLabels(source: Source, labelField: string): Promise<LabelScan> {
  const labels = new Set<number | string>();
  let records = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      source.chunks.subscribe({
        next: (chunk) => {
          for (const record of chunk.records) {
            records += 1;
            const label = labelOf(record.value, labelField);
            if (label !== undefined) labels.add(label);
            chunk.settle();
          }
        },
        error: reject,
        complete: resolve,
      });
    });
  } finally {
    await source.close();
  }
  const names = [...labels].filter((l): l is string => typeof l === 'string').sort();
  return { records, labels, names };
}

function labelOf(value: Buffer | null, field: string): number | string | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const label = (parsed as Record<string, unknown>)[field];
    if (typeof label === 'string') return label === '' ? undefined : label;
    return typeof label === 'number' && Number.isInteger(label) ? label : undefined;
  } catch {
    // A malformed record has no label; the pipeline will dead-letter it later.
    return undefined;
  }
}
