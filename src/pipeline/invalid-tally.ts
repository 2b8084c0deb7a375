/**
 * Invalid records by reason, each with its first example (where it was and why), for the
 * summary a command prints at the end: "wrong_type 150, e.g. line 2: the field "host" is the
 * string "host0", not a number".
 */
import type { SourceRecord } from '../sources/source.js';

export interface InvalidReason {
  count: number;
  example: { topic: string; partition: number; offset: string; message: string };
}

export class InvalidTally {
  private readonly reasons = new Map<string, InvalidReason>();

  add(reason: string, record: SourceRecord, message: string): void {
    const known = this.reasons.get(reason);
    if (known !== undefined) {
      known.count += 1;
      return;
    }
    const { topic, partition, offset } = record;
    this.reasons.set(reason, { count: 1, example: { topic, partition, offset, message } });
  }

  /** Reasons by count, most frequent first. */
  byReason(): [string, InvalidReason][] {
    return [...this.reasons].sort((a, b) => b[1].count - a[1].count);
  }
}
