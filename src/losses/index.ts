/**
 * The `losses` namespace of the public API: pure tfjs functions for the clustering loss family,
 * the distances and miners they share, the positives sources, and the combined objective the
 * training step minimises.
 */
export {
  pairwiseDistances,
  squaredDistances,
  l2Normalize,
  safeSqrt,
  type DistanceMetric,
  type PairwiseDistanceOptions,
} from './pairwise-distances.js';
export {
  mine,
  type MineOptions,
  type MinedTriplets,
  type MiningStats,
  type TripletStrategy,
  type SemiHardFallback,
  type EmptySetPolicy,
} from './mine.js';
export {
  minePairs,
  type MinePairsOptions,
  type MinedPairs,
  type PairStrategy,
} from './mine-pairs.js';
export type { Reduction } from './reduce-terms.js';
export {
  contrastive,
  contrastiveTerms,
  type ContrastiveOptions,
  type ContrastiveTermOptions,
  type ContrastiveForm,
} from './contrastive.js';
export {
  triplet,
  tripletFromMined,
  type TripletOptions,
  type TripletForm,
  type LossWithMining,
} from './triplet.js';
export { kmeans, type KMeansLossOptions } from './kmeans-loss.js';
export {
  softCluster,
  logSoftAssignments,
  type SoftClusterOptions,
  type SoftClusterResult,
} from './soft-cluster.js';
export { sinkhorn, type SinkhornOptions } from './sinkhorn.js';
export { deepCluster, type DeepClusterOptions, type ClassBalance } from './deep-cluster.js';
export {
  headLogits,
  initHead,
  remapHead,
  type ClusterHead,
  type HeadKind,
} from './cluster-head.js';
export { ntXent, type NtXentOptions } from './nt-xent.js';
export {
  neighbourViews,
  type NeighbourViewOptions,
  type NeighbourViews,
} from './neighbour-views.js';
export { reconstruction, type ReconstructionOptions } from './reconstruction.js';
export { augmentViews, type AugmentOptions, type AugmentedViews } from './augment.js';
export { resolveLabels, viewLabels, type LabelSource, type LabelSourceBatch } from './positives.js';
export { stopGradient } from './stop-gradient.js';
export { lossesConfigSchema, effectiveReconstructionWeight, type LossesConfig } from './config.js';
export {
  clusteringLoss,
  type ClusteringLossInputs,
  type ClusteringLossResult,
  type ClusteringLossState,
  type CombinedMiningStats,
  type LossName,
} from './combined.js';
