import { InputDrift, type InputDriftCheck, type InputDriftOptions } from './input-drift.js';

/** What the tester found in one batch. */
export interface InputDriftResult {
  checks: InputDriftCheck[];
  referenceReady: boolean;
}

/**
 * InputDrift over a stream of batches, with its reference renewed `settleRecords` after a
 * detection (a window's length: by then the window holds only records after the change, and
 * the new state becomes the reference). Renewals happen at batch ends, once per run of
 * detections: the first detection with none pending sets the record, the renewal clears it.
 *
 * It depends only on the batches it is given, so it gives the same checks on the main thread
 * and on a worker thread of its own (workers/input-drift-worker.ts), where incidents are then
 * opened from its results (incidents.ts).
 */
export class InputDriftTester {
  readonly drift: InputDrift;
  private records = 0;
  /** When the reference is to be renewed; null when no detection waits for it. */
  private renewAt: number | null = null;

  constructor(
    dim: number,
    options: Partial<InputDriftOptions>,
    private readonly settleRecords: number,
  ) {
    this.drift = new InputDrift(dim, options);
  }

  get dim(): number {
    return this.drift.dim;
  }

  /** Tests a batch's raw features (rows × dim, row-major), in input order. */
  observe(raw: Float32Array): InputDriftResult {
    const checks = this.drift.observe(raw);
    for (const check of checks)
      if (check.drift) this.renewAt ??= check.atRecord + this.settleRecords;
    this.records += raw.length / this.drift.dim;
    if (this.renewAt !== null && this.records >= this.renewAt) {
      this.renewAt = null;
      this.drift.rebase();
    }
    return { checks, referenceReady: this.drift.referenceReady };
  }
}
