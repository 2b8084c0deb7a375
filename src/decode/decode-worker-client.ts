/**
 * The main thread's side of the decode worker (workers/decode-worker.ts): a Piscina pool of
 * one thread, started on first use, as the trainer's replicas are. A worker that fails is not
 * used again: the stage then decodes on the main thread.
 */
import { Piscina } from 'piscina';

import { workerLocation } from '../worker-location.js';
import {
  packValues,
  type DecodeRequest,
  type DecodeResponse,
  type DecodeWorkerData,
} from './decode-protocol.js';

export class DecodeWorkerClient {
  private pool: Piscina | undefined;
  /** Why the worker is out of use, once it failed. */
  failure: string | undefined;

  constructor(private readonly data: DecodeWorkerData) {}

  async decode(dim: number, values: readonly (Buffer | null)[]): Promise<DecodeResponse> {
    const pool = this.start();
    const packed = packValues(values);
    const request: DecodeRequest = { dim, ...packed };
    try {
      return (await pool.run(request, {
        transferList: [
          packed.values.buffer as ArrayBuffer,
          packed.starts.buffer as ArrayBuffer,
          packed.nulls.buffer as ArrayBuffer,
        ],
      })) as DecodeResponse;
    } catch (error) {
      this.failure ??= String(error);
      throw error;
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  private start(): Piscina {
    if (this.pool !== undefined) return this.pool;
    const { filename, execArgv } = workerLocation('decode-worker');
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
