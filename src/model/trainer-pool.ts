/**
 * Main-thread side of the trainer worker: starts the piscina pool, initialises the model in
 * it (which also picks the compute backend there), and runs one step per batch.
 *
 * One worker thread holds the weights. The native TensorFlow addon can be loaded by one
 * thread of a process only, and a single writer keeps exactly one model version.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

import type { LossesConfig } from '../losses/config.js';
import type { BackendRequest } from './backend.js';
import type { InitResult, InitTask, ModelSpec, StepResult, StepTask } from './protocol.js';

export interface TrainerPoolOptions {
  backend: BackendRequest;
  model: ModelSpec;
  losses: LossesConfig;
}

/**
 * The worker's file: the compiled `.js` next to the compiled sources, or the `.ts` source
 * (with tsx as the loader) when the process itself runs from source, as under vitest or tsx.
 */
function workerLocation(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = new URL(`../../workers/trainer-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  return {
    filename: fileURLToPath(file),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

export class TrainerPool {
  private readonly pool: Piscina;
  private closed = false;

  private constructor(pool: Piscina) {
    this.pool = pool;
  }

  static async start(
    options: TrainerPoolOptions,
  ): Promise<{ pool: TrainerPool; init: InitResult }> {
    const { filename, execArgv } = workerLocation();
    const pool = new Piscina({
      filename,
      execArgv,
      minThreads: 1,
      maxThreads: 1,
      // Batches arrive at most batch.maxInFlight at a time; the queue never grows past that.
      maxQueue: 'auto',
      idleTimeout: Number.POSITIVE_INFINITY,
    });
    const trainer = new TrainerPool(pool);
    try {
      const task: InitTask = {
        kind: 'init',
        backend: options.backend,
        model: options.model,
        losses: options.losses,
      };
      const init = (await pool.run(task)) as InitResult;
      return { pool: trainer, init };
    } catch (error) {
      await trainer.close();
      throw error;
    }
  }

  /** Embeds (and maybe trains on) one batch. The features' buffer is transferred: do not reuse it. */
  async step(task: Omit<StepTask, 'kind'>): Promise<StepResult> {
    const transferList: ArrayBuffer[] = [task.features.buffer as ArrayBuffer];
    if (task.centroids !== undefined) transferList.push(task.centroids.buffer as ArrayBuffer);
    const message: StepTask = { kind: 'step', ...task };
    return (await this.pool.run(message, { transferList })) as StepResult;
  }

  get queueSize(): number {
    return this.pool.queueSize;
  }

  get utilization(): number {
    return this.pool.utilization;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }
}
