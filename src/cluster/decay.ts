import type { DecayConfig } from './config.js';

/**
 * The forgetting factor `a` applied to every centroid weight before a batch is folded in
 * (Spark StreamingKMeans' discount), from a half-life:
 *
 * - `none`: a = 1, plain mini-batch k-means (scikit-learn's MiniBatchKMeans update);
 * - `batches`: a = 0.5^(1 / halfLife), so a weight halves after halfLife batches;
 * - `points`: a = 0.5^(records / halfLife), so it halves after halfLife records whatever the
 *   batch size;
 * - `seconds`: a = 0.5^(Δt / halfLife) with Δt the event time elapsed since the previous batch,
 *   so a quiet stream forgets as fast as a busy one per unit of time. Event time that goes
 *   backwards (late records) counts as no time elapsed rather than as negative forgetting.
 */
export function decayFactor(decay: DecayConfig, records: number, elapsedSeconds: number): number {
  switch (decay.unit) {
    case 'none':
      return 1;
    case 'batches':
      return Math.pow(0.5, 1 / decay.halfLife);
    case 'points':
      return Math.pow(0.5, records / decay.halfLife);
    case 'seconds':
      return Math.pow(0.5, Math.max(0, elapsedSeconds) / decay.halfLife);
  }
}
