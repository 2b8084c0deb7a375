import { INPUT_DRIFT_TESTS, testRatios, type InputDriftCheck } from './input-drift.js';

/**
 * DriftIncidents: turns the input-drift checks into incidents an operator can act on, one per
 * change instead of one alarm per check.
 *
 * A check that finds drift opens an incident, unless one is open: then it extends that one (a
 * gradual drift keeps being found as it goes on, and stays one incident). `settleRecords` after
 * a detection (a window's length: by then the window holds only records after it) the caller
 * renews the input reference, so the new state becomes the reference; until then the checks
 * still compare with the old one and tell which features moved and how far. A change that is
 * over stops being detected, and its incident closes once `quietRecords` records have passed
 * since its last detection. That quiet period is the hysteresis; no cooldown is needed, since an
 * open incident absorbs every detection until it closes.
 *
 * An incident says what changed (the tests that found it, the features that moved most, with
 * the shift of their means in reference standard deviations), since when (the last check that
 * still looked like the reference), how much (severity: the largest test statistic over its
 * critical value), and which other detectors agreed while it was open (the embedding-space and
 * assignment statistics, `corroborate`).
 */
export interface IncidentFeature {
  feature: number;
  name: string;
  statistic: number;
  meanShift: number;
}

export interface DriftIncident {
  id: number;
  kind: 'input-drift';
  state: 'open' | 'closed';
  /** Estimated first record of the change: the last record of the last check that was quiet. */
  since: number;
  /** Record of the first detection, of the latest, and of the close (null while open). */
  detectedAt: number;
  lastDetectionAt: number;
  closedAt: number | null;
  openedAtMs: number;
  closedAtMs: number | null;
  detections: number;
  /** Tests and detectors that found it or agreed while it was open. */
  detectors: string[];
  /** The largest statistic / critical value seen: above 1 is drift; 2 and 5 mark the levels. */
  severity: number;
  level: 'minor' | 'major' | 'critical';
  /** The features that moved most, strongest first (at most five). */
  features: IncidentFeature[];
}

export interface IncidentChange {
  change: 'opened' | 'extended' | 'closed';
  incident: DriftIncident;
}

export interface DriftIncidentsOptions {
  quietRecords: number;
  /** Records after a detection before the input reference is renewed (the input window). */
  settleRecords: number;
  /** Names of the input features (decode.fields), when they have names. */
  featureNames?: readonly string[];
}

/** A check below half of every critical value counts as quiet: the window matches the reference. */
const QUIET_SEVERITY = 0.5;
const MAX_FEATURES = 5;

export class DriftIncidents {
  private readonly options: DriftIncidentsOptions;
  private nextId = 1;
  private openIncident: DriftIncident | null = null;
  private lastQuietAt = 0;
  /** When the input reference is to be renewed; null when no detection waits for it. */
  private renewAt: number | null = null;
  /** The open incident's strongest feature evidence (KS statistic / critical value). */
  private featureRatio = 0;
  /** Every incident so far, oldest first (the last 100). */
  readonly history: DriftIncident[] = [];

  constructor(options: DriftIncidentsOptions) {
    this.options = options;
  }

  get open(): DriftIncident | null {
    return this.openIncident;
  }

  /** Takes one input-drift check; says whether it opened or extended an incident. */
  onCheck(check: InputDriftCheck, nowMs: number): IncidentChange | null {
    if (!check.drift) {
      if (check.severity < QUIET_SEVERITY) this.lastQuietAt = check.atRecord;
      return null;
    }
    const detectors = testsThatFired(check);
    this.renewAt ??= check.atRecord + this.options.settleRecords;
    const open = this.openIncident;
    if (open !== null) {
      open.detections += 1;
      open.lastDetectionAt = check.atRecord;
      open.detectors = union(open.detectors, detectors);
      if (check.severity > open.severity) {
        open.severity = check.severity;
        open.level = level(check.severity);
      }
      this.takeFeatures(open, check);
      return { change: 'extended', incident: open };
    }
    const incident: DriftIncident = {
      id: this.nextId++,
      kind: 'input-drift',
      state: 'open',
      since: Math.max(this.lastQuietAt, check.windowStart),
      detectedAt: check.atRecord,
      lastDetectionAt: check.atRecord,
      closedAt: null,
      openedAtMs: nowMs,
      closedAtMs: null,
      detections: 1,
      detectors,
      severity: check.severity,
      level: level(check.severity),
      features: [],
    };
    this.featureRatio = 0;
    this.takeFeatures(incident, check);
    this.openIncident = incident;
    this.history.push(incident);
    if (this.history.length > 100) this.history.shift();
    return { change: 'opened', incident };
  }

  /** Adds a detector that agreed (embedding or assignment statistics) to the open incident. */
  corroborate(detector: string): void {
    if (this.openIncident !== null)
      this.openIncident.detectors = union(this.openIncident.detectors, [detector]);
  }

  /**
   * The features that moved in this check (KS above its critical value), strongest first, when
   * they moved more than in any check before: a change found first by the prototype tests names
   * its features once the window holds enough records after it.
   */
  private takeFeatures(incident: DriftIncident, check: InputDriftCheck): void {
    const best = check.features[0];
    if (best === undefined || best.statistic / best.threshold <= this.featureRatio) return;
    this.featureRatio = best.statistic / best.threshold;
    incident.features = check.features
      .filter((f) => f.statistic > f.threshold)
      .slice(0, MAX_FEATURES)
      .map((f) => ({
        feature: f.feature,
        name: this.featureName(f.feature),
        statistic: f.statistic,
        meanShift: f.meanShift,
      }));
  }

  /** Whether the input reference is due for renewal at this record; true once per detection run. */
  renewalDue(atRecord: number): boolean {
    if (this.renewAt === null || atRecord < this.renewAt) return false;
    this.renewAt = null;
    return true;
  }

  /** Called as records pass: closes the open incident after quietRecords without a detection. */
  onRecords(atRecord: number, nowMs: number): IncidentChange | null {
    const open = this.openIncident;
    if (open === null || atRecord - open.lastDetectionAt < this.options.quietRecords) return null;
    open.state = 'closed';
    open.closedAt = atRecord;
    open.closedAtMs = nowMs;
    this.openIncident = null;
    this.lastQuietAt = atRecord;
    return { change: 'closed', incident: open };
  }

  featureName(feature: number): string {
    return this.options.featureNames?.[feature] ?? `feature ${feature}`;
  }
}

function testsThatFired(check: InputDriftCheck): string[] {
  const ratios = testRatios(check);
  return INPUT_DRIFT_TESTS.filter((test) => ratios[test] > 1);
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function level(severity: number): DriftIncident['level'] {
  return severity >= 5 ? 'critical' : severity >= 2 ? 'major' : 'minor';
}
