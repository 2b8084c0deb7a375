/**
 * Piscina entry point of the input-drift tests' worker (src/drift/input-drift-client.ts): runs
 * the tests on a thread of their own, in the order the batches arrive. The tester's state (the
 * reference, the window) lives here between batches; a worker that fails is not used again.
 */
import { workerData } from 'piscina';

import type { InputDriftRequest, InputDriftWorkerData } from '../src/drift/input-drift-client.js';
import { InputDriftTester, type InputDriftResult } from '../src/drift/input-drift-tester.js';

const { options, settleRecords } = workerData as InputDriftWorkerData;
let tester: InputDriftTester | undefined;

export default function run(request: InputDriftRequest): InputDriftResult {
  if (tester?.dim !== request.dim)
    tester = new InputDriftTester(request.dim, options, settleRecords);
  return tester.observe(request.raw);
}
