/**
 * The `losses:` section of the configuration: which clustering losses the training step sums,
 * with what weight, and each one's parameters. This schema is the single source of their
 * defaults; `config/default.yaml` documents the same keys.
 *
 * Every loss has `weight` (≥ 0; 0 turns it off). Objects are strict (an unknown key is almost
 * always a typo) and use `prefault({})` so a missing section still gets its inner defaults.
 *
 * Defaults: NT-Xent over pairs of a record and one of its nearest neighbours in input space
 * (positives.source: neighbours). That objective needs neither labels nor the store's
 * centroids, so the pseudo-labels of a young store cannot lock in its first mistakes, and its
 * uniformity term keeps the embedding from collapsing. The margin losses, the k-means pull,
 * deep and soft clustering stay available (weight > 0), with the reconstruction term as their
 * collapse guard. `reconstruction.auto` (default true) applies that
 * term only while the soft or k-means loss is on, which is how "on by default when the soft or
 * k-means loss is on" is expressed; set `auto: false` to apply it whenever its weight is > 0.
 */
import { z } from 'zod';

const weight = z.number().min(0).max(1e6);
const positive = z.number().positive();
const cap = z
  .number()
  .int()
  .min(1)
  .max(1 << 26);

const positivesSchema = z
  .strictObject({
    source: z.enum(['neighbours', 'field', 'key', 'pseudo', 'views']).default('neighbours'),
    field: z.string().min(1).default('label'),
    neighbours: z.number().int().min(1).max(1000).default(10),
    corruption: z.number().min(0).lt(1).default(0),
    noiseStd: z.number().min(0).default(0.05),
    dropout: z.number().min(0).lt(1).default(0.1),
    seed: z.number().int().default(0),
  })
  .prefault({});

const contrastiveSchema = z
  .strictObject({
    weight: weight.default(0),
    form: z.enum(['hadsell', 'pos-neg-margin']).default('hadsell'),
    margin: positive.default(1),
    posMargin: z.number().min(0).default(0),
    negMargin: positive.default(1),
    pairs: z.enum(['all', 'hard']).default('all'),
    reduction: z.enum(['mean', 'mean-nonzero', 'sum']).default('mean'),
    maxPairs: cap.default(1 << 20),
  })
  .prefault({});

const ntXentSchema = z
  .strictObject({
    weight: weight.default(1),
    temperature: positive.default(0.5),
  })
  .prefault({});

const tripletSchema = z
  .strictObject({
    weight: weight.default(0),
    form: z.enum(['hinge', 'soft']).default('hinge'),
    margin: positive.default(0.2),
    miner: z.enum(['all', 'batch-hard', 'semi-hard', 'hard', 'easy']).default('batch-hard'),
    semiHardFallback: z.enum(['drop', 'farthest']).default('drop'),
    emptySets: z.enum(['drop', 'tfa-compat']).default('drop'),
    reduction: z.enum(['mean', 'mean-nonzero', 'sum']).default('mean-nonzero'),
    maxTriplets: cap.default(1 << 20),
  })
  .prefault({});

const kmeansSchema = z
  .strictObject({
    weight: weight.default(0),
    reduction: z.enum(['mean', 'sum']).default('mean'),
  })
  .prefault({});

const deepClusterSchema = z
  .strictObject({
    weight: weight.default(0),
    head: z.enum(['linear', 'prototype']).default('prototype'),
    temperature: positive.default(0.1),
    balance: z.enum(['inverse-sqrt', 'uniform-sampling', 'none']).default('inverse-sqrt'),
  })
  .prefault({});

const softClusterSchema = z
  .strictObject({
    weight: weight.default(0),
    alpha: positive.default(1),
    momentum: z.number().min(0).lt(1).default(0.9),
    target: z.enum(['dec', 'sinkhorn']).default('dec'),
    sinkhornEpsilon: positive.default(0.5),
    sinkhornIterations: z.number().int().min(1).max(1000).default(3),
  })
  .prefault({});

const reconstructionSchema = z
  .strictObject({
    weight: weight.default(0.1),
    auto: z.boolean().default(true),
    reduction: z.enum(['mean', 'sum-features']).default('mean'),
  })
  .prefault({});

export const lossesConfigSchema = z
  .strictObject({
    normalize: z.boolean().default(true),
    metric: z.enum(['euclidean', 'squared', 'cosine']).default('euclidean'),
    positives: positivesSchema,
    ntXent: ntXentSchema,
    contrastive: contrastiveSchema,
    triplet: tripletSchema,
    kmeans: kmeansSchema,
    deepCluster: deepClusterSchema,
    softCluster: softClusterSchema,
    reconstruction: reconstructionSchema,
  })
  .prefault({});

export type LossesConfig = z.infer<typeof lossesConfigSchema>;

/** The weight the reconstruction term actually gets under `auto`. */
export function effectiveReconstructionWeight(config: LossesConfig): number {
  const { weight: w, auto } = config.reconstruction;
  if (!auto) return w;
  return config.kmeans.weight > 0 || config.softCluster.weight > 0 ? w : 0;
}
