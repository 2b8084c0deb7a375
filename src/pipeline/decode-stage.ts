/**
 * The first half of a batch's first stage: its records decoded into feature vectors, the
 * invalid ones turned into dead letters with their reason (counted on /metrics and for the
 * end-of-run summary). The valid records' features land in two Float32Arrays, rows × dim: as
 * the records have them (`inputs`: the input-drift tests, the cluster profiles, the warm-up)
 * and standardised (`features`: the network), with no array or object per record.
 *
 * With `decode.thread: worker` the parsing runs on a worker thread of its own, so that the main
 * thread, which also reads Kafka and writes the outputs, only standardises and labels the rows,
 * in input order (the running statistics are one state). Off by default: on 2 cores with the
 * broker beside it, it gained no throughput and cost CPU (README, "Throughput").
 */
import type { Config } from '../config/schema.js';
import type { DecodeResponse } from '../decode/decode-protocol.js';
import { DecodeWorkerClient } from '../decode/decode-worker-client.js';
import { JsonDecoder, type DecodeReason, type Parsed } from '../decode/json-decoder.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeadLetter } from '../sinks/sink.js';
import type { SourceRecord } from '../sources/source.js';
import { InvalidTally } from './invalid-tally.js';

/**
 * A batch decoded: its valid records in input order, their features in one array each way
 * (row i is valid[i]), their labels, and the dead letters. No object or array per record.
 */
export interface DecodedBatch {
  valid: SourceRecord[];
  /** The valid records' label ids (decode.labelField), undefined where a record has none. */
  labels: (number | undefined)[];
  /** The captured field's values (losses.positives.field), when one is captured. */
  captured: (string | number | boolean | null)[] | undefined;
  /** The valid records' features standardised (decode.standardize), rows × dim. */
  features: Float32Array;
  /** The valid records' features before standardisation, rows × dim. */
  inputs: Float32Array;
  deadLetters: DeadLetter[];
}

export class DecodeStage {
  readonly decoder: JsonDecoder;
  /** Invalid records by reason, each with its first example. */
  readonly invalid = new InvalidTally();
  /** Parses off the main thread (decode.thread), once the input dimension is known. */
  private readonly worker: DecodeWorkerClient | undefined;
  /** Whether a field is captured with each record (losses.positives.field). */
  private readonly captures: boolean;
  /** Batches parsed by the worker so far. */
  batchesInWorker = 0;

  constructor(private readonly deps: { config: Config; logger: Logger; metrics: Metrics }) {
    const { losses, decode } = deps.config;
    const capture = losses.positives.source === 'field' ? losses.positives.field : undefined;
    this.decoder = new JsonDecoder(decode, capture);
    this.captures = capture !== undefined;
    this.worker =
      decode.thread === 'worker'
        ? new DecodeWorkerClient({ options: decode, captureField: capture })
        : undefined;
  }

  async decode(records: readonly SourceRecord[]): Promise<DecodedBatch> {
    const { metrics, logger } = this.deps;
    const timer = metrics.stageDuration.startTimer({ stage: 'decode' });
    const values = records.map((r) => r.value);
    const vote = this.decoder.voteDimension(values);
    if (vote !== undefined)
      logger.info('input dimension taken from the first batch (decode.dim 0)', {
        ...vote,
        other: 'records of other lengths go to the dead letters; set decode.dim to declare it',
      });
    const batch = (await this.inWorker(records, values)) ?? this.onMainThread(records);
    metrics.recordsDecoded.inc(batch.valid.length);
    timer();
    return batch;
  }

  async close(): Promise<void> {
    await this.worker?.close();
  }

  private onMainThread(records: readonly SourceRecord[]): DecodedBatch {
    const decoder = this.decoder;
    const dim = decoder.dim;
    const batch = emptyBatch(dim, records.length, this.captures);
    for (const record of records) {
      const parsed =
        dim > 0
          ? decoder.parseInto(record.value, batch.inputs, batch.valid.length * dim)
          : notDecoded(decoder.parse(record.value));
      if (parsed.ok) this.accepted(batch, record, parsed.label, parsed.captured);
      else this.deadLetter(batch.deadLetters, record, parsed.reason, parsed.message);
    }
    return trimmed(batch, dim);
  }

  /**
   * The worker parses, then the rows are standardised and labelled here, in input order.
   * Undefined (decode on the main thread) before the dimension is known, or when the worker
   * failed: the batch is decoded all the same, only not beside the main thread.
   */
  private async inWorker(
    records: readonly SourceRecord[],
    values: readonly (Buffer | null)[],
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
    const batch: DecodedBatch = {
      valid: [],
      labels: [],
      captured: this.captures ? [] : undefined,
      features: new Float32Array(response.raw.length),
      inputs: response.raw,
      deadLetters: [],
    };
    const failures = response.failures;
    let failure = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (response.ok[i] !== 1) {
        const f = failures[failure++]!;
        this.deadLetter(batch.deadLetters, record, f.reason, f.message);
        continue;
      }
      const row = batch.valid.length;
      this.accepted(batch, record, response.labels[row], response.captured?.[row]);
    }
    return batch;
  }

  /** A record whose features are row `valid.length` of `inputs`: standardised and labelled. */
  private accepted(
    batch: DecodedBatch,
    record: SourceRecord,
    label: number | string | undefined,
    captured: string | number | boolean | null | undefined,
  ): void {
    const row = batch.valid.length;
    batch.labels.push(this.decoder.acceptInto(batch.inputs, batch.features, row, label));
    batch.captured?.push(captured ?? null);
    batch.valid.push(record);
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

/**
 * Without a dimension no record of the batch had a vector to vote on (voteDimension), so none
 * decodes: each gets its reason.
 */
function notDecoded(parsed: Parsed): Extract<Parsed, { ok: false }> {
  if (parsed.ok) throw new Error('a record decoded although the batch voted no dimension');
  return parsed;
}

function emptyBatch(dim: number, rows: number, captures: boolean): DecodedBatch {
  return {
    valid: [],
    labels: [],
    captured: captures ? [] : undefined,
    features: new Float32Array(rows * dim),
    inputs: new Float32Array(rows * dim),
    deadLetters: [],
  };
}

/** The batch's arrays cut to its valid rows (views: the buffers are not copied). */
function trimmed(batch: DecodedBatch, dim: number): DecodedBatch {
  const length = batch.valid.length * dim;
  if (batch.inputs.length === length) return batch;
  return {
    ...batch,
    features: batch.features.subarray(0, length),
    inputs: batch.inputs.subarray(0, length),
  };
}
