import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { DriftMonitor, type DriftReport } from '../../../src/drift/drift-monitor.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { DriftWatch } from '../../../src/pipeline/drift-watch.js';
import { TELEMETRY_DIM, TelemetryStream } from '../../helpers/telemetry-stream.js';

function setUp() {
  const lines: string[] = [];
  const metrics = new Metrics({ defaultMetrics: false });
  const watch = new DriftWatch({
    config: validateConfig({ drift: { incidents: { quietRecords: 5_000 } } }),
    logger: createLogger('info', (line) => lines.push(line)),
    metrics,
  });
  return { watch, lines, metrics };
}

/** Feeds `records` of a telemetry stream (change at `at`) to the watch in batches of 500. */
function feed(watch: DriftWatch, stream: TelemetryStream, records: number): void {
  for (let i = 0; i < records; i += 500) {
    const batch = new Float32Array(500 * TELEMETRY_DIM);
    for (let r = 0; r < 500; r++) batch.set(stream.next().features, r * TELEMETRY_DIM);
    watch.observeInputs(batch, TELEMETRY_DIM);
  }
}

/** A report with one embedding alarm, from a monitor whose reference saw model version 3. */
function signal(): DriftReport {
  return {
    events: [
      {
        kind: 'embedding-drift',
        detector: 'adwin',
        statistic: 1,
        threshold: 0.0002,
        windowStart: 0,
        windowEnd: 10,
        changeIndex: 5,
      },
    ],
    referenceModelVersion: 3,
  } as unknown as DriftReport;
}

describe('DriftWatch', () => {
  it('opens one incident for a change, logs and counts it, and closes it after the quiet period', async () => {
    const { watch, lines, metrics } = setUp();
    feed(watch, new TelemetryStream(4, 'cluster death', 10_000), 30_000);
    const events = watch.takeEvents();
    expect(events.map((e) => e.kind)).toEqual(['incident-opened', 'incident-closed']);
    expect(lines.filter((l) => l.includes('drift incident #1 opened'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('drift incident #1 closed'))).toHaveLength(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('streamclust_drift_incidents_total{kind="input-drift"} 1');
    expect(text).toContain('streamclust_drift_incident_open 0');
    expect(text).toMatch(/streamclust_input_drift_severity\{test="prototype-shares"\} \d/);
  });

  it('names an embedding alarm in the open incident; without one, puts it down to the model and rebases', () => {
    const { watch, lines } = setUp();
    const monitor = new DriftMonitor({ referenceRecords: 10 });
    const stream = new TelemetryStream(4, 'cluster death', 10_000);
    feed(watch, stream, 12_000);
    expect(watch.history).toHaveLength(1);
    watch.onSignals(signal(), monitor, 3, 0);
    expect(watch.history[0]!.detectors).toContain('adwin');

    feed(watch, stream, 10_000);
    expect(watch.history[0]!.state).toBe('closed');
    // The monitor has its reference; a signal after the network moved on renews it.
    monitor.observe({ clusterIds: new Int32Array(20), distances: new Float32Array(20).fill(1) });
    expect(
      monitor.observe({ clusterIds: new Int32Array(1), distances: new Float32Array(1) })
        .referenceReady,
    ).toBe(true);
    watch.onSignals(signal(), monitor, 9, 0);
    expect(
      lines.some((l) =>
        l.includes('the network trained since their reference (model version 3 → 9)'),
      ),
    ).toBe(true);
    expect(
      monitor.observe({ clusterIds: new Int32Array(1), distances: new Float32Array(1) })
        .referenceReady,
    ).toBe(false);
    // The same signal with the model unchanged but lifecycle events in the window.
    watch.onSignals(signal(), monitor, 3, 2);
    expect(lines.some((l) => l.includes('the store changed its clusters'))).toBe(true);
  });
});
