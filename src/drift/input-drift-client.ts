/**
 * The main thread's side of the input-drift worker (workers/input-drift-worker.ts): a Piscina
 * pool of one thread, started on first use, which tests the batches in the order they are sent,
 * one at a time. Its state is the worker's own, so a
 * worker that failed is not used again: the caller then tests on the main thread.
 */
import { Piscina } from 'piscina';

import { SerialQueue } from '../serial-queue.js';
import { workerLocation } from '../worker-location.js';
import type { InputDriftOptions } from './input-drift.js';
import type { InputDriftResult } from './input-drift-tester.js';

export interface InputDriftWorkerData {
  options: Partial<InputDriftOptions>;
  settleRecords: number;
}

export interface InputDriftRequest {
  dim: number;
  /** rows × dim, before standardisation; transferred. */
  raw: Float32Array;
}

export class InputDriftClient {
  private pool: Piscina | undefined;
  private readonly order = new SerialQueue();

  constructor(private readonly data: InputDriftWorkerData) {}

  /**
   * Sends a copy of the batch's features (the caller's array stays as it is). Each batch is
   * handed to the pool once the one before it is done: Piscina does not keep the order of
   * tasks queued together, and the tests' state depends on it.
   */
  test(raw: Float32Array, dim: number): Promise<InputDriftResult> {
    const pool = this.start();
    const copy = raw.slice();
    const request: InputDriftRequest = { dim, raw: copy };
    return this.order.run(
      () =>
        pool.run(request, {
          transferList: [copy.buffer as ArrayBuffer],
        }) as Promise<InputDriftResult>,
    );
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  private start(): Piscina {
    if (this.pool !== undefined) return this.pool;
    const { filename, execArgv } = workerLocation('input-drift-worker');
    this.pool = new Piscina({
      filename,
      execArgv,
      workerData: this.data,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
    return this.pool;
  }
}
