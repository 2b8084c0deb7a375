/**
 * `npm run bench -- drift`: drift incidents on seeded telemetry-like streams (24 features of
 * mixed kinds and scales: log-normal durations, zero-inflated counts, fractions; 10 clusters),
 * one scripted change each: abrupt shift, gradual drift, cluster birth, cluster death, variance
 * change, a zero-inflated count shifting. Per stream, over three seeds: the detection delay in
 * records (gradual: from the drift's end, negative when found before it ends), the incidents per
 * true change, and the false incidents before the change. Then stationary streams through the
 * whole pipeline, with training on (the defaults) and off: false incidents per million records.
 *
 * The change streams go through DriftWatch, the component the pipeline uses, fed directly (the
 * tests see only raw inputs, so training cannot change them; the stationary runs show it).
 *
 * Beside them, river's ADWIN, PageHinkley and KSWIN (defaults) on the same records, one detector
 * per feature, any feature's alarm counting (scripts/reference/drift-river.py), when Python with
 * river is present; alarms there are raw alarms, with no incident grouping.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { validateConfig } from '../src/config/load-config.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';
import { DriftWatch } from '../src/pipeline/drift-watch.js';
import { pacedChunks } from '../src/sources/paced-chunks.js';
import type { Source } from '../src/sources/source.js';
import {
  TELEMETRY_DIM,
  TelemetryStream,
  type ChangeKind,
} from '../test/helpers/telemetry-stream.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHANGES: ChangeKind[] = [
  'abrupt shift',
  'gradual drift',
  'cluster birth',
  'cluster death',
  'variance change',
  'zero-inflated count',
];
const SEEDS = [1, 2, 3];
const CHANGE_AT = 40_000;
const LENGTH = 80_000;
const BATCH = 256;

interface StreamResult {
  /** Record of the first detection at or after the change; null when it was not found. */
  detectedAt: number | null;
  incidentsAfter: number;
  incidentsBefore: number;
}

function runChangeStream(kind: ChangeKind, seed: number): StreamResult {
  const stream = new TelemetryStream(seed, kind, CHANGE_AT);
  const watch = new DriftWatch({
    config: validateConfig({}),
    logger: silentLogger,
    metrics: new Metrics({ defaultMetrics: false }),
  });
  const opened: number[] = [];
  for (let done = 0; done < LENGTH; done += BATCH) {
    const batch = new Float32Array(BATCH * TELEMETRY_DIM);
    for (let r = 0; r < BATCH; r++) batch.set(stream.next().features, r * TELEMETRY_DIM);
    watch.observeInputs(batch, TELEMETRY_DIM);
    for (const e of watch.takeEvents())
      if (e.kind === 'incident-opened') opened.push(Number(e.detail['detectedAt']));
  }
  const after = opened.filter((at) => at >= CHANGE_AT);
  return {
    detectedAt: after[0] ?? null,
    incidentsAfter: after.length,
    incidentsBefore: opened.length - after.length,
  };
}

/** The stationary stream through the whole pipeline; incidents opened. */
async function runStationaryPipeline(records: number, training: boolean): Promise<number> {
  const stream = new TelemetryStream(11, 'stationary', -1);
  function* generate() {
    for (let offset = 0; offset < records; offset++) {
      const { features } = stream.next();
      yield {
        topic: 'telemetry',
        partition: 0,
        offset: String(offset),
        key: null,
        value: Buffer.from(JSON.stringify({ features: Array.from(features) })),
        timestamp: Date.now(),
      };
    }
  }
  const source: Source = {
    kind: 'file',
    chunks: pacedChunks(generate(), {
      chunkSize: BATCH,
      maxInFlight: 8,
      recordsPerSecond: 0,
      stopped: () => false,
    }),
    stop: async () => undefined,
    close: async () => undefined,
    healthy: () => true,
  };
  let incidents = 0;
  const pipeline = await createPipeline(
    validateConfig({
      decode: { dim: TELEMETRY_DIM },
      cluster: { k: 10 },
      training: training ? {} : { mode: 'off' },
      http: { enabled: false },
      log: { level: 'silent', statusIntervalMs: 0 },
    }),
    {
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
      source,
      sink: {
        write: async (output) => {
          for (const e of output.events ?? []) if (e.kind === 'incident-opened') incidents += 1;
        },
        close: async () => undefined,
      },
    },
  );
  await pipeline.run();
  return incidents;
}

interface RiverRow {
  stream: string;
  detector: string;
  delay: number | null;
  alarmsAfter: number;
  alarmsBefore: number;
  /** Records the detector saw (KSWIN: a slice around the change; see the script). */
  records: number;
}

/** river's detectors on the same records, when Python has river; null otherwise. */
function runRiver(quick: boolean): RiverRow[] | null {
  try {
    execFileSync('python3', ['-c', 'import river, numpy'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'streamclust-drift-'));
  try {
    const streams: { name: string; file: string; at: number; end: number }[] = [];
    const kinds: ChangeKind[] = [...CHANGES, 'stationary'];
    for (const kind of kinds) {
      const length = kind === 'stationary' ? (quick ? 100_000 : 200_000) : LENGTH;
      const stream = new TelemetryStream(SEEDS[0]!, kind, CHANGE_AT);
      const rows = new Float32Array(length * TELEMETRY_DIM);
      for (let i = 0; i < length; i++) rows.set(stream.next().features, i * TELEMETRY_DIM);
      const file = join(dir, `${kind.replace(/ /g, '-')}.f32`);
      writeFileSync(file, Buffer.from(rows.buffer));
      streams.push({ name: kind, file, at: stream.change.at, end: stream.change.end });
    }
    const out = execFileSync(
      'python3',
      [
        join(ROOT, 'scripts/reference/drift-river.py'),
        String(TELEMETRY_DIM),
        JSON.stringify(streams),
      ],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
    );
    return JSON.parse(out) as RiverRow[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runDriftBench(options: { quick?: boolean } = {}): Promise<void> {
  const quick = options.quick === true;
  const lines: string[] = [
    `## Drift incidents (\`npm run bench -- drift\`)`,
    '',
    `Telemetry-like streams, ${TELEMETRY_DIM} features (8 log-normal, 8 zero-inflated counts, 8 fractions), 10 clusters, ` +
      `${LENGTH.toLocaleString('en')} records, the change at record ${CHANGE_AT.toLocaleString('en')} ` +
      `(gradual: over 10,000 records); seeds ${SEEDS.join(', ')}; default drift settings. ` +
      `Delay: records from the change (gradual: from its end) to the first detection.`,
    '',
    '| stream | delay per seed | worst delay | incidents per change | false incidents before it |',
    '|---|---|---:|---:|---:|',
  ];
  const verdicts: string[] = [];
  for (const kind of CHANGES) {
    const results = SEEDS.map((seed) => runChangeStream(kind, seed));
    const reference = kind === 'gradual drift' ? CHANGE_AT + 10_000 : CHANGE_AT;
    const delays = results.map((r) => (r.detectedAt === null ? null : r.detectedAt - reference));
    const found = delays.filter((d): d is number => d !== null);
    const worst = found.length === delays.length ? Math.max(...found) : null;
    const perChange = results.reduce((s, r) => s + r.incidentsAfter, 0) / results.length;
    const before = results.reduce((s, r) => s + r.incidentsBefore, 0);
    lines.push(
      `| ${kind} | ${delays.map((d) => (d === null ? 'missed' : String(d))).join(', ')} | ` +
        `${worst ?? 'missed'} | ${perChange.toFixed(2)} | ${before} |`,
    );
    if (worst === null || worst > 2_000) verdicts.push(`${kind}: found later than 2,000 records`);
    if (perChange > 1.5) verdicts.push(`${kind}: ${perChange.toFixed(2)} incidents per change`);
    console.error(`drift: ${kind} done`);
  }
  const stationary = quick ? 200_000 : 1_000_000;
  lines.push(
    '',
    `Stationary telemetry through the whole pipeline (defaults, k = 10), ${stationary.toLocaleString('en')} records:`,
    '',
    '| training | incidents | per million records |',
    '|---|---:|---:|',
  );
  for (const training of [true, false]) {
    const started = performance.now();
    const incidents = await runStationaryPipeline(stationary, training);
    const perMillion = (incidents * 1_000_000) / stationary;
    lines.push(
      `| ${training ? 'on (default)' : 'off'} | ${incidents} | ${perMillion.toFixed(2)} |`,
    );
    if (training && perMillion >= 1)
      verdicts.push(`${perMillion} false incidents per million, training on`);
    console.error(
      `drift: stationary, training ${training ? 'on' : 'off'}: ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  const river = runRiver(quick);
  lines.push('');
  if (river === null) {
    lines.push(
      'river reference: skipped (python3 with river and numpy not found; `pip install river`).',
    );
  } else {
    lines.push(
      `river (defaults), one detector per feature on the same records (seed ${SEEDS[0]}), any feature's alarm counting; raw alarms, not incidents:`,
      '',
      '| stream | detector | records seen | delay | alarms after the change | alarms before it (stationary: all) |',
      '|---|---|---:|---:|---:|---:|',
    );
    for (const r of river) {
      lines.push(
        `| ${r.stream} | ${r.detector} | ${r.records.toLocaleString('en')} | ${r.delay ?? 'missed'} | ${r.alarmsAfter} | ${r.alarmsBefore} |`,
      );
    }
  }
  lines.push(
    '',
    verdicts.length === 0
      ? 'Targets met: every change found within 2,000 records, at most 1.5 incidents per change, under 1 false incident per million stationary records with training on.'
      : `Targets NOT met: ${verdicts.join('; ')}.`,
  );
  console.log(lines.join('\n'));
}
