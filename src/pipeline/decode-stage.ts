/**
 * The first half of a batch's first stage: its records decoded into feature vectors, the
 * invalid ones turned into dead letters with their reason (counted on /metrics and for the
 * end-of-run summary). The valid records' features before standardisation land in one
 * Float32Array, rows × dim, for the input-drift tests and the cluster profiles.
 *
 * With `decode.thread: worker` the parsing runs on a worker thread of its own, so that the main
 * thread, which also reads Kafka and writes the outputs, only standardises and labels the rows,
 * in input order (the running statistics are one state). Off by default: on 2 cores with the
 * broker beside it, it gained no throughput and cost CPU (README, "Throughput").
 */
import type { Config } from '../config/schema.js';
import type { DecodeResponse } from '../decode/decode-protocol.js';
import { DecodeWorkerClient } from '../decode/decode-worker-client.js';
import { JsonDecoder, type DecodeReason, type Decoded } from '../decode/json-decoder.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeadLetter } from '../sinks/sink.js';
import type { SourceRecord } from '../sources/source.js';
import { InvalidTally } from './invalid-tally.js';

/**
 * A valid record as the decoder gave it (features, label, `raw` before standardisation while
 * the store warms up, the captured field) with the record it came from: one object per record.
 */
export type DecodedRow = Extract<Decoded, { ok: true }> & { record: SourceRecord };

export interface DecodedBatch {
  valid: DecodedRow[];
  deadLetters: DeadLetter[];
  /** The valid records' features before standardisation, rows × dim (undefined before dim). */
  inputs: Float32Array | undefined;
}

export class DecodeStage {
  readonly decoder: JsonDecoder;
  /** Invalid records by reason, each with its first example. */
  readonly invalid = new InvalidTally();
  /** Parses off the main thread (decode.thread), once the input dimension is known. */
  private readonly worker: DecodeWorkerClient | undefined;
  /** Batches parsed by the worker so far. */
  batchesInWorker = 0;

  constructor(private readonly deps: { config: Config; logger: Logger; metrics: Metrics }) {
    const { losses, decode } = deps.config;
    const capture = losses.positives.source === 'field' ? losses.positives.field : undefined;
    this.decoder = new JsonDecoder(decode, capture);
    this.worker =
      decode.thread === 'worker'
        ? new DecodeWorkerClient({ options: decode, captureField: capture })
        : undefined;
  }

  /** `keepRaw`: keep each row's features before standardisation (while the store warms up). */
  async decode(records: readonly SourceRecord[], keepRaw: boolean): Promise<DecodedBatch> {
    const { metrics, logger } = this.deps;
    const timer = metrics.stageDuration.startTimer({ stage: 'decode' });
    const values = records.map((r) => r.value);
    const vote = this.decoder.voteDimension(values);
    if (vote !== undefined)
      logger.info('input dimension taken from the first batch (decode.dim 0)', {
        ...vote,
        other: 'records of other lengths go to the dead letters; set decode.dim to declare it',
      });
    const batch =
      (await this.inWorker(records, values, keepRaw)) ?? this.onMainThread(records, keepRaw);
    metrics.recordsDecoded.inc(batch.valid.length);
    timer();
    return batch;
  }

  async close(): Promise<void> {
    await this.worker?.close();
  }

  private onMainThread(records: readonly SourceRecord[], keepRaw: boolean): DecodedBatch {
    const valid: DecodedRow[] = [];
    const deadLetters: DeadLetter[] = [];
    const dim = this.decoder.dim;
    const inputs = dim > 0 ? new Float32Array(records.length * dim) : undefined;
    for (const record of records) {
      const decoded = this.decoder.decode(record.value, keepRaw, inputs, valid.length * dim);
      if (decoded.ok) valid.push(decodedRow(record, decoded));
      else this.deadLetter(deadLetters, record, decoded.reason, decoded.message);
    }
    return { valid, deadLetters, inputs: inputs?.subarray(0, valid.length * dim) };
  }

  /**
   * The worker parses, then the rows are standardised and labelled here, in input order.
   * Undefined (decode on the main thread) before the dimension is known, or when the worker
   * failed: the batch is decoded all the same, only not beside the main thread.
   */
  private async inWorker(
    records: readonly SourceRecord[],
    values: readonly (Buffer | null)[],
    keepRaw: boolean,
  ): Promise<DecodedBatch | undefined> {
    const dim = this.decoder.dim;
    if (this.worker === undefined || this.worker.failure !== undefined || dim === 0)
      return undefined;
    let response: DecodeResponse;
    try {
      response = await this.worker.decode(dim, values);
    } catch (error) {
      this.deps.logger.warn('the decode worker failed: decoding on the main thread from now on', {
        error: String(error),
      });
      return undefined;
    }
    this.batchesInWorker += 1;
    const valid: DecodedRow[] = [];
    const deadLetters: DeadLetter[] = [];
    const failures = response.failures;
    let failure = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (response.ok[i] !== 1) {
        const f = failures[failure++]!;
        this.deadLetter(deadLetters, record, f.reason, f.message);
        continue;
      }
      const row = valid.length;
      const decoded = this.decoder.accept(
        response.raw.subarray(row * dim, (row + 1) * dim),
        response.labels[row],
        response.captured?.[row],
        keepRaw,
      );
      if (decoded.ok) valid.push(decodedRow(record, decoded));
    }
    return { valid, deadLetters, inputs: response.raw };
  }

  private deadLetter(
    deadLetters: DeadLetter[],
    record: SourceRecord,
    reason: DecodeReason,
    message: string,
  ): void {
    deadLetters.push({ record, reason, message });
    this.deps.metrics.recordsInvalid.inc({ reason });
    this.invalid.add(reason, record, message);
  }
}

/** The decoder's result is fresh and ours: the record goes onto it rather than into a copy. */
function decodedRow(record: SourceRecord, decoded: Extract<Decoded, { ok: true }>): DecodedRow {
  const row = decoded as DecodedRow;
  row.record = record;
  return row;
}
