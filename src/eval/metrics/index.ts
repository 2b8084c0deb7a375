// The library's `metrics` namespace: plain arrays in, numbers out, with scikit-learn's
// definitions and edge cases (see each file for the one it mirrors).
export { silhouette } from './silhouette.js';
export type { SilhouetteOptions } from './silhouette.js';
export { daviesBouldin } from './davies-bouldin.js';
export { calinskiHarabasz } from './calinski-harabasz.js';
export { inertia } from './inertia.js';
export { nmi } from './nmi.js';
export type { NmiOptions } from './nmi.js';
export { ari } from './ari.js';
export { clusteringAccuracy } from './clustering-accuracy.js';
export { purity } from './purity.js';
export { homogeneityCompletenessVMeasure } from './homogeneity-completeness-v-measure.js';
export type { HomogeneityCompletenessVMeasure } from './homogeneity-completeness-v-measure.js';
export { contingencyTable, denseContingency } from './contingency-table.js';
export type { ContingencyCell, ContingencyTable } from './contingency-table.js';
export { hungarian } from './hungarian.js';
export type { Assignment } from './hungarian.js';
export { MetricUndefinedError } from './metric-undefined-error.js';
export type { Points } from './point-matrix.js';
