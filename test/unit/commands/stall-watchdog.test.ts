import { describe, expect, it } from 'vitest';

import { stallReport } from '../../../src/commands/run.js';

describe('the stall watchdog (batch.stallTimeoutMs)', () => {
  const now = 1_000_000;
  const waiting = (stage: string, forMs: number) => ({
    waitingOn: { stage, since: now - forMs },
    recordsInFlight: 512,
  });

  it('reports a stage waited on past the limit, with the stage, the key and the exit code', () => {
    expect(stallReport(waiting('the sink write', 61_000), now, 60_000)).toBe(
      'stalled: the pipeline has been waiting on the sink write for 61 s, past batch.stallTimeoutMs ' +
        '(60000 ms); exiting with code 69 and 512 records unwritten (not committed: they are read again after a restart)',
    );
  });

  it('stays quiet before the limit, with the watchdog off, and while no batch is in progress', () => {
    expect(stallReport(waiting('the trainer worker', 59_000), now, 60_000)).toBeUndefined();
    expect(stallReport(waiting('the trainer worker', 10 ** 9), now, 0)).toBeUndefined();
    expect(
      stallReport({ waitingOn: undefined, recordsInFlight: 100 }, now, 60_000),
    ).toBeUndefined();
  });
});
