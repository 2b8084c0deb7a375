/**
 * Piscina entry point of the trainer worker. Thin on purpose (like piscina's own
 * `src/worker.ts`): the state and the step live in `src/model/trainer.ts`, the message types
 * in `src/model/protocol.ts`.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';

import type { TrainerResult, TrainerTask } from '../src/model/protocol.js';
import { initTrainer, step } from '../src/model/trainer.js';

export default async function run(task: TrainerTask): Promise<TrainerResult> {
  if (task.kind === 'init') return initTrainer(task);
  const result = step(task);
  // Transfer the embeddings' buffer back instead of copying it (structured clone would).
  return move({
    [transferableSymbol]: [result.embeddings.buffer],
    [valueSymbol]: result,
  } as never) as unknown as TrainerResult;
}
