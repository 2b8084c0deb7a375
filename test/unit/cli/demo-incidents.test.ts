// Issue #15: the demo prints at most one drift incident line per change its generator made.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { DriftingMixture } from '../../../src/sources/drifting-mixture.js';
import { runCli } from '../../helpers/cli-process.js';

// Two changes, each closed before the end (10,000 quiet records after its last detection).
const RECORDS = 60_000;

it('the demo prints one drift incident per change of its generator, none between', async () => {
  // The generator's change log over the same records (the demo's defaults, same seed).
  const mixture = new DriftingMixture(validateConfig({}).synthetic);
  for (let i = 0; i < RECORDS; i++) mixture.next();
  const changes = mixture.events.map((e) => e.atRecord);
  expect(changes).toEqual([20_000, 40_000]);

  const dir = await mkdtemp(join(tmpdir(), 'streamclust-demo-'));
  const eventsFile = join(dir, 'events.jsonl');
  try {
    const { code, stdout, stderr } = await runCli([
      'run',
      ...['--records', String(RECORDS), '--rate', '0', '--port', '0', '--assignments', 'none'],
      ...['--set', `sinks.eventsFile=${eventsFile}`],
    ]);
    expect(code, stderr).toBe(0);
    const lines = `${stdout}\n${stderr}`.split('\n');
    const opened = lines.filter((l) => /drift incident #\d+ opened/.test(l));
    expect(opened, opened.join('\n')).toHaveLength(changes.length);
    // Each closed before the next change: 10,000 quiet records after its last detection.
    const closed = lines.filter((l) => /drift incident #\d+ closed/.test(l));
    expect(closed).toHaveLength(changes.length);
    // Each incident is found within 2,000 records after its change.
    const detected = opened.map((l) => Number(/detectedAt=(\d+)/.exec(l)?.[1]));
    detected.forEach((at, i) => {
      expect(at).toBeGreaterThanOrEqual(changes[i]!);
      expect(at).toBeLessThan(changes[i]! + 2_000);
    });
    // The detectors' raw alarms are signals on /metrics, no longer printed one by one.
    expect(lines.filter((l) => l.includes('drift detected'))).toEqual([]);

    // The events output carries the incidents too, not the raw alarms.
    const events = (await readFile(eventsFile, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; kind: string; detail: { id: number } });
    expect(
      events.filter((e) => e.type === 'drift').map((e) => `${e.kind} #${e.detail.id}`),
    ).toEqual(
      changes.flatMap((_, i) => [`incident-opened #${i + 1}`, `incident-closed #${i + 1}`]),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
