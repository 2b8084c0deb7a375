/**
 * One quick read of a bounded source before an evaluation: how many records one pass holds (the
 * progress bar's total, the window size) and which integer labels occur (k, when the user did
 * not choose it). Nothing is decoded beyond the label field.
 */
import type { Source } from '../sources/source.js';

export interface LabelScan {
  records: number;
  labels: Set<number>;
}

export async function scanLabels(source: Source, labelField: string): Promise<LabelScan> {
  const labels = new Set<number>();
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
  return { records, labels };
}

function labelOf(value: Buffer | null, field: string): number | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const label = (parsed as Record<string, unknown>)[field];
    return typeof label === 'number' && Number.isInteger(label) ? label : undefined;
  } catch {
    // A malformed record has no label; the pipeline will dead-letter it later.
    return undefined;
  }
}
