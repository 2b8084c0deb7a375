/**
 * Drift as an operator sees it: the raw inputs are tested (input-drift.ts), a detection opens
 * or extends a drift incident (incidents.ts) and, a window later, renews the input reference;
 * the incident
 * is logged once when it opens and once when it closes, counted on /metrics and written to the
 * events output (`drift` events of kind `incident-opened` and `incident-closed`).
 *
 * The embedding and assignment statistics (drift-monitor.ts) move when the network trains or
 * the store changes its clusters as well as when the data changes, so they never open an
 * incident: while one is open, a detector of theirs that fires is named in it as agreeing;
 * otherwise the signal is reported for what it is (the model moved, or the store's lifecycle)
 * and their reference is renewed, so that they compare like with like. When an incident closes,
 * their reference is renewed too: the state the store adapted to becomes the new normal.
 */
import type { Config } from '../config/schema.js';
import type { DriftMonitor, DriftReport } from '../drift/drift-monitor.js';
import { DriftIncidents, type DriftIncident, type IncidentChange } from '../drift/incidents.js';
import {
  INPUT_DRIFT_TESTS,
  InputDrift,
  testRatios,
  type InputDriftCheck,
} from '../drift/input-drift.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { StreamEvent } from '../sinks/sink.js';

export class DriftWatch {
  private readonly deps: { config: Config; logger: Logger; metrics: Metrics };
  private input: InputDrift | undefined;
  private readonly incidents: DriftIncidents;
  private pending: StreamEvent[] = [];
  /** Records whose inputs were tested so far. */
  private records = 0;
  /** Record count at the last cluster lifecycle event (births, merges, refreshes). */
  private lastLifecycleAt = Number.NEGATIVE_INFINITY;
  /** An incident closed and the embedding statistics still compare with the state before it. */
  private closedSinceRenewal = false;

  constructor(deps: { config: Config; logger: Logger; metrics: Metrics }) {
    this.deps = deps;
    const { fields } = deps.config.decode;
    this.incidents = new DriftIncidents({
      quietRecords: deps.config.drift.incidents.quietRecords,
      settleRecords: deps.config.drift.input.windowRecords,
      ...(fields.length > 0 ? { featureNames: fields } : {}),
    });
  }

  /** Whether the raw (unscaled) features of every record are wanted. */
  get wantsRaw(): boolean {
    const { drift } = this.deps.config;
    return drift.enabled && drift.input.enabled;
  }

  /** The last input-drift check's severity (statistic / critical value); undefined before one. */
  lastSeverity: number | undefined;

  /** Incidents so far (the last 100), oldest first; the open one last. */
  get history(): readonly DriftIncident[] {
    return this.incidents.history;
  }

  /** Tests a batch's raw features (rows × dim, row-major), in input order. */
  observeInputs(raw: Float32Array, dim: number): void {
    if (!this.wantsRaw || dim < 1 || raw.length === 0) return;
    const { config, metrics } = this.deps;
    if (this.input === undefined || this.input.dim !== dim) {
      this.lastSeverity = undefined;
      const { enabled: _, ...options } = config.drift.input;
      this.input = new InputDrift(dim, { ...options, seed: config.cluster.seed });
    }
    const now = Date.now();
    for (const check of this.input.observe(raw)) {
      publishCheck(check, metrics);
      this.lastSeverity = check.severity;
      const change = this.incidents.onCheck(check, now);
      if (change !== null) this.report(change, check);
    }
    this.records += raw.length / dim;
    // A window after a detection, the records that follow the change become the reference.
    if (this.incidents.renewalDue(this.records)) this.input.rebase();
    const closed = this.incidents.onRecords(this.records, now);
    if (closed !== null) this.report(closed);
    metrics.driftInputReferenceReady.set(this.input.referenceReady ? 1 : 0);
  }

  /**
   * The embedding and assignment signals of a batch: agreeing with an open incident, or, when
   * none is open, put down to the model or the store and their reference renewed.
   */
  onSignals(
    report: DriftReport,
    monitor: DriftMonitor,
    modelVersion: number,
    lifecycleEvents: number,
  ): void {
    if (lifecycleEvents > 0) this.lastLifecycleAt = this.records;
    if (report.events.length === 0) return;
    const { logger } = this.deps;
    const detectors = [...new Set(report.events.map((e) => e.detector))];
    if (this.incidents.open !== null) {
      for (const d of detectors) this.incidents.corroborate(d);
      return;
    }
    const modelMoved = report.referenceModelVersion !== modelVersion;
    const storeChanged =
      this.records - this.lastLifecycleAt <= this.deps.config.drift.windowRecords;
    const cause = modelMoved
      ? `the network trained since their reference (model version ${report.referenceModelVersion} → ${modelVersion})`
      : storeChanged
        ? 'the store changed its clusters (lifecycle events) within the window'
        : 'no drift in the inputs';
    logger.info(`embedding and assignment statistics moved: ${cause}; their reference is renewed`, {
      detectors: detectors.join(', '),
    });
    monitor.rebase();
  }

  /** Renews the embedding statistics' reference when an incident closed since the last call. */
  renewAfterClose(monitor: DriftMonitor): void {
    if (this.closedSinceRenewal) {
      this.closedSinceRenewal = false;
      monitor.rebase();
    }
  }

  /** Incident events not yet handed to a batch's output. */
  takeEvents(): StreamEvent[] {
    const events = this.pending;
    this.pending = [];
    return events;
  }

  private report(change: IncidentChange, check?: InputDriftCheck): void {
    const { logger, metrics } = this.deps;
    const { incident } = change;
    metrics.driftIncidentOpen.set(incident.state === 'open' ? 1 : 0);
    if (change.change === 'extended') {
      logger.debug('drift incident still going on', {
        incident: incident.id,
        severity: round(check?.severity ?? incident.severity),
      });
      return;
    }
    if (change.change === 'opened') {
      metrics.driftIncidents.inc({ kind: incident.kind });
      logger.warn(`drift incident #${incident.id} opened: ${describe(incident)}`, {
        since: incident.since,
        detectedAt: incident.detectedAt,
        severity: round(incident.severity),
        level: incident.level,
        detectors: incident.detectors.join(', '),
      });
    } else {
      this.closedSinceRenewal = true;
      logger.info(
        `drift incident #${incident.id} closed: no drift for ${this.deps.config.drift.incidents.quietRecords} records; the new state is the reference`,
        {
          records: incident.closedAt! - incident.since,
          ...(incident.features.length > 0 ? { moved: movedFeatures(incident) } : {}),
          detections: incident.detections,
          detectors: incident.detectors.join(', '),
        },
      );
    }
    this.pending.push({
      type: 'drift',
      kind: `incident-${change.change}`,
      detail: { ...incident, features: incident.features.map((f) => ({ ...f })) },
      at: Date.now(),
    });
  }
}

/** The features that moved, with the shift of their means: `latency_ms +1.20 sd, …`. */
function movedFeatures(incident: DriftIncident): string {
  return incident.features
    .map((f) => `${f.name} ${f.meanShift >= 0 ? '+' : ''}${f.meanShift.toFixed(2)} sd`)
    .join(', ');
}

/** What changed, in words: the features that moved and how far, or what the tests saw. */
function describe(incident: DriftIncident): string {
  const parts: string[] = [];
  if (incident.features.length > 0) parts.push(`the inputs moved: ${movedFeatures(incident)}`);
  if (incident.detectors.includes('prototype-shares'))
    parts.push('the mix of record kinds changed (a group grew, shrank, appeared or vanished)');
  if (incident.detectors.includes('input-outliers'))
    parts.push('records unlike any seen in the reference arrive');
  if (incident.detectors.includes('prototype-distance') && parts.length === 0)
    parts.push('the records spread differently around the known groups');
  return `${parts.join('; ')}; since about record ${incident.since}, ${incident.level}`;
}

function publishCheck(check: InputDriftCheck, metrics: Metrics): void {
  const ratios = testRatios(check);
  for (const test of INPUT_DRIFT_TESTS) metrics.inputDrift.set({ test }, ratios[test]);
}

function round(x: number): number {
  return Number(x.toFixed(3));
}
