/**
 * What every source yields: chunks of raw records, each chunk with a completion that the
 * pipeline settles once every record in it has been written to the sinks and acknowledged.
 * A source only commits (Kafka offsets) or reads further past its in-flight bound after that,
 * which is the backpressure: RxJS has none of its own, so nothing upstream may run ahead.
 */
import type { Observable } from 'rxjs';

export interface SourceRecord {
  topic: string;
  partition: number;
  /** Kafka offset, or the record's sequence number in a file or synthetic stream. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Kafka record headers as read (dead letters carry them on); absent for other sources. */
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  /** Event time in milliseconds since the epoch. */
  timestamp: number;
  /** The chunk this record belongs to; settled per record by the pipeline. */
  chunk: RecordChunk;
}

export class RecordChunk {
  readonly records: SourceRecord[] = [];
  private pending = 0;
  private readonly resolveDone: () => void;
  readonly done: Promise<void>;
  private readonly resolveReleased: () => void;
  /**
   * Resolves when the pipeline holds this chunk's unsettled records and needs the source to go
   * on reading before it can settle them: the centroid store waits for k records and fewer
   * arrived. A source that holds back further reads until `done` (Kafka: one fetch per
   * partition) reads on from here and commits when `done` resolves. Never resolves otherwise.
   */
  readonly released: Promise<void>;

  constructor() {
    let resolve!: () => void;
    this.done = new Promise<void>((r) => (resolve = r));
    this.resolveDone = resolve;
    let release!: () => void;
    this.released = new Promise<void>((r) => (release = r));
    this.resolveReleased = release;
  }

  /** The pipeline holds this chunk's records and needs more of the stream to settle them. */
  release(): void {
    this.resolveReleased();
  }

  /** Takes a record just read: the object becomes the chunk's (one per record, not copied). */
  add(record: Omit<SourceRecord, 'chunk'>): void {
    const owned = record as SourceRecord;
    owned.chunk = this;
    this.records.push(owned);
    this.pending += 1;
  }

  /** One record of this chunk reached the sinks. Resolves `done` on the last one. */
  settle(): void {
    this.pending -= 1;
    if (this.pending === 0) this.resolveDone();
    if (this.pending < 0) throw new Error('RecordChunk settled more often than it has records');
  }
}

export interface Source {
  readonly kind: 'synthetic' | 'kafka' | 'file';
  /** Chunks of records; completes when a bounded source is exhausted or after stop(). */
  readonly chunks: Observable<RecordChunk>;
  /** Stop reading new records. In-flight chunks still complete (and commit) afterwards. */
  stop(): Promise<void>;
  /** Release connections; call after the pipeline drained. */
  close(): Promise<void>;
  /** Is the upstream system reachable (for /readyz)? */
  healthy(): boolean;
}
