/**
 * Piscina entry point of a trainer worker (one model replica). Thin on purpose (like piscina's
 * own `src/worker.ts`): the replica's state and its operations live in src/model/trainer.ts,
 * the message types in src/model/protocol.ts.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';

import type { TrainerResult, TrainerTask } from '../src/model/protocol.js';
import {
  apply,
  getState,
  heapAfterGc,
  initTrainer,
  setModelState,
  step,
} from '../src/model/trainer.js';

export default async function run(task: TrainerTask): Promise<TrainerResult> {
  switch (task.kind) {
    case 'init':
      return initTrainer(task);
    case 'apply':
      return apply(task);
    case 'heap':
      return heapAfterGc();
    case 'set-state':
      return setModelState(task);
    case 'get-state': {
      const state = await getState();
      return transfer({ kind: 'get-state', state }, [
        state.variables.values.buffer as ArrayBuffer,
        state.optimizer.values.buffer as ArrayBuffer,
      ]);
    }
    case 'step': {
      const result = step(task);
      const buffers = [result.embeddings.buffer as ArrayBuffer];
      if (result.gradients !== undefined)
        buffers.push(result.gradients.values.buffer as ArrayBuffer);
      return transfer(result, buffers);
    }
  }
}

/** Hands the buffers to the main thread instead of copying them (structured clone would). */
function transfer(result: TrainerResult, buffers: ArrayBuffer[]): TrainerResult {
  return move({
    [transferableSymbol]: buffers,
    [valueSymbol]: result,
  } as never) as unknown as TrainerResult;
}
