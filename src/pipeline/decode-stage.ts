/**
 * The first half of a batch's first stage: its records decoded into feature vectors, the
 * invalid ones turned into dead letters with their reason (counted on /metrics and for the
 * end-of-run summary). The valid records' features before standardisation land in one
 * Float32Array, rows × dim, for the input-drift tests and the cluster profiles.
 */
import type { Config } from '../config/schema.js';
import { JsonDecoder } from '../decode/json-decoder.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeadLetter } from '../sinks/sink.js';
import type { SourceRecord } from '../sources/source.js';
import { InvalidTally } from './invalid-tally.js';

export interface DecodedRow {
  record: SourceRecord;
  label: number | undefined;
  features: Float32Array;
  /** Features before standardisation, kept while the store warms up. */
  raw: Float32Array | undefined;
  captured: string | number | boolean | null | undefined;
}

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

  constructor(private readonly deps: { config: Config; logger: Logger; metrics: Metrics }) {
    const { losses, decode } = deps.config;
    const capture = losses.positives.source === 'field' ? losses.positives.field : undefined;
    this.decoder = new JsonDecoder(decode, capture);
  }

  /** `keepRaw`: keep each row's features before standardisation (while the store warms up). */
  decode(records: readonly SourceRecord[], keepRaw: boolean): DecodedBatch {
    const { metrics, logger } = this.deps;
    const timer = metrics.stageDuration.startTimer({ stage: 'decode' });
    const valid: DecodedRow[] = [];
    const deadLetters: DeadLetter[] = [];
    const vote = this.decoder.voteDimension(records.map((r) => r.value));
    if (vote !== undefined)
      logger.info('input dimension taken from the first batch (decode.dim 0)', {
        ...vote,
        other: 'records of other lengths go to the dead letters; set decode.dim to declare it',
      });
    const dim = this.decoder.dim;
    const inputs = dim > 0 ? new Float32Array(records.length * dim) : undefined;
    for (const record of records) {
      const decoded = this.decoder.decode(record.value, keepRaw, inputs, valid.length * dim);
      if (decoded.ok) {
        valid.push({
          record,
          label: decoded.label,
          features: decoded.features,
          raw: decoded.raw,
          captured: decoded.captured,
        });
      } else {
        deadLetters.push({ record, reason: decoded.reason, message: decoded.message });
        metrics.recordsInvalid.inc({ reason: decoded.reason });
        this.invalid.add(decoded.reason, record, decoded.message);
      }
    }
    metrics.recordsDecoded.inc(valid.length);
    timer();
    return { valid, deadLetters, inputs: inputs?.subarray(0, valid.length * dim) };
  }
}
