/**
 * Training settings for tests of delivery and plumbing, not of clustering quality: 5
 * pretraining epochs instead of 50 and one replay anchor per arriving record instead of 4. They
 * still pretrain, train on every batch and checkpoint a moving model, at about a quarter of the
 * cost. The quality tests (test/unit/quality) and the benchmarks run the defaults.
 */
export const PLUMBING_TRAINING = { pretrain: { epochs: 5 }, replayRatio: 1 } as const;

/** The same settings as CLI flags. */
export const PLUMBING_TRAINING_ARGS: readonly string[] = [
  '--set',
  `training.pretrain.epochs=${PLUMBING_TRAINING.pretrain.epochs}`,
  '--set',
  `training.replayRatio=${PLUMBING_TRAINING.replayRatio}`,
];
