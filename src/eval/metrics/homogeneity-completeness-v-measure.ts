import { contingencyTable } from './contingency-table.js';
import { MetricUndefinedError } from './metric-undefined-error.js';
import { entropy, mutualInformation } from './mutual-information.js';

export interface HomogeneityCompletenessVMeasure {
  /** 1 when every cluster holds samples of one class only: MI / H(true). */
  readonly homogeneity: number;
  /** 1 when every class sits in one cluster only: MI / H(pred). */
  readonly completeness: number;
  /** Weighted harmonic mean of the two; with beta = 1 it equals NMI with arithmetic averaging. */
  readonly vMeasure: number;
}

/**
 * Homogeneity, completeness and V-measure, as scikit-learn's
 * `homogeneity_completeness_v_measure`: a side with zero entropy (one label) scores 1, no
 * samples gives (1, 1, 1), and V is 0 when both scores are 0.
 *
 * `beta` (>= 0, default 1) weights homogeneity against completeness: below 1 favours
 * homogeneity, above 1 completeness. Where scikit-learn divides by zero (beta = 0 with
 * completeness 0) this throws MetricUndefinedError. O(n + cells).
 */
export function homogeneityCompletenessVMeasure(
  labelsTrue: ArrayLike<number>,
  labelsPred: ArrayLike<number>,
  options: { beta?: number } = {},
): HomogeneityCompletenessVMeasure {
  const beta = options.beta ?? 1;
  if (!(beta >= 0) || !Number.isFinite(beta)) {
    throw new RangeError(
      `homogeneityCompletenessVMeasure beta must be a finite number >= 0; got ${beta}`,
    );
  }
  const table = contingencyTable(labelsTrue, labelsPred);
  if (table.n === 0) return { homogeneity: 1, completeness: 1, vMeasure: 1 };
  const hTrue = entropy(table.rowSums, table.n);
  const hPred = entropy(table.colSums, table.n);
  const mi = mutualInformation(table);
  const homogeneity = hTrue === 0 ? 1 : mi / hTrue;
  const completeness = hPred === 0 ? 1 : mi / hPred;
  if (homogeneity + completeness === 0) return { homogeneity, completeness, vMeasure: 0 };
  const weighted = beta * homogeneity + completeness;
  if (weighted === 0) {
    throw new MetricUndefinedError(
      'vMeasure',
      `vMeasure with beta = 0 is homogeneity * completeness / completeness, undefined when completeness is 0 (homogeneity = ${homogeneity})`,
    );
  }
  const vMeasure = ((1 + beta) * homogeneity * completeness) / weighted;
  return { homogeneity, completeness, vMeasure };
}
