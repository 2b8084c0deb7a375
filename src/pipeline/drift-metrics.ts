/**
 * A batch's drift statistics made visible: each one set on its gauge, NaN when it has no value
 * (no reference window yet, or nothing to compare in this batch) so that a stale or default 0 is
 * never read as "no drift", whether the reference is ready on its own gauge, and each detector
 * signal counted (and logged at debug level: incidents are what an operator is told about).
 */
import type { DriftReport } from '../drift/drift-monitor.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';

export function publishDrift(report: DriftReport, metrics: Metrics, logger: Logger): void {
  const set = (gauge: { set(value: number): void }, value: number): void => {
    gauge.set(Number.isFinite(value) ? value : Number.NaN);
  };
  metrics.driftReferenceReady.set(report.referenceReady ? 1 : 0);
  set(
    { set: (v) => metrics.centroidDisplacement.set({ statistic: 'mean' }, v) },
    report.centroidShiftMean,
  );
  set(
    { set: (v) => metrics.centroidDisplacement.set({ statistic: 'max' }, v) },
    report.centroidShiftMax,
  );
  set(
    { set: (v) => metrics.centroidDisplacement.set({ statistic: 'from_reference' }, v) },
    report.centroidShiftFromReference,
  );
  set(metrics.assignmentPsi, report.assignmentPsi);
  set(metrics.assignmentJs, report.assignmentJs);
  set(metrics.distanceEwma, report.distanceEwma);
  set(metrics.outlierRatio, report.outlierShare);
  set(metrics.clusterEntropy, report.clusterEntropy);
  set(metrics.nearEmptyClusters, report.nearEmptyClusters);
  for (const e of report.events) {
    metrics.driftEvents.inc({ kind: e.kind, detector: e.detector });
    // A signal, not an incident (drift-watch.ts decides what it means): for the curious only.
    logger.debug(`drift signal: ${e.kind} by ${e.detector}`, {
      statistic: Number(e.statistic.toFixed(4)),
      ...(e.detector === 'adwin' ? { delta: e.threshold } : { threshold: e.threshold }),
      window: `${e.windowStart}-${e.windowEnd}`,
    });
  }
}
