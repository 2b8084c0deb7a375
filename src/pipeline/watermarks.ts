/**
 * Per-partition commit watermarks: the next offset that can be committed without skipping a
 * record that is not yet written. Records of a partition are received in order but may be
 * written out of order (a dead letter is written at once while valid records wait for the
 * store's warm-up), so the watermark is the lowest offset still in flight, or one past the
 * highest received when nothing is. Exactly-once delivery commits these offsets inside the
 * transaction that writes the outputs.
 */
import type { SourceOffset } from '../state/checkpoint.js';
import type { SourceRecord } from '../sources/source.js';

interface PartitionState {
  topic: string;
  partition: number;
  inFlight: Set<bigint>;
  nextAfterReceived: bigint;
}

export class Watermarks {
  private readonly partitions = new Map<string, PartitionState>();

  received(records: readonly SourceRecord[]): void {
    for (const r of records) {
      const p = this.state(r);
      const offset = BigInt(r.offset);
      p.inFlight.add(offset);
      if (offset + 1n > p.nextAfterReceived) p.nextAfterReceived = offset + 1n;
    }
  }

  settled(records: readonly SourceRecord[]): void {
    for (const r of records) this.state(r).inFlight.delete(BigInt(r.offset));
  }

  /** The committable offset of every partition seen so far. */
  offsets(): SourceOffset[] {
    return [...this.partitions.values()].map((p) => {
      let lowest = p.nextAfterReceived;
      for (const o of p.inFlight) if (o < lowest) lowest = o;
      return { topic: p.topic, partition: p.partition, offset: lowest.toString() };
    });
  }

  private state(r: SourceRecord): PartitionState {
    const key = `${r.topic}\u0000${r.partition}`;
    let p = this.partitions.get(key);
    if (p === undefined) {
      p = { topic: r.topic, partition: r.partition, inFlight: new Set(), nextAfterReceived: 0n };
      this.partitions.set(key, p);
    }
    return p;
  }
}
