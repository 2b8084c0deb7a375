import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';
import { onlineKMeansOptionsFromConfig } from '../../../src/cluster/config.js';
import { evaluationConfig, parseEvaluationFlags } from '../../../src/commands/evaluation-flags.js';
import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { TrainerPool } from '../../../src/model/trainer-pool.js';
import { OnlineLearner } from '../../../src/pipeline/online-learner.js';
import { DriftingMixture } from '../../../src/sources/drifting-mixture.js';

// A small network and small steps: what is checked is when steps run, not what they learn.
const config = validateConfig({
  model: { hiddenLayers: [32], embeddingDim: 8 },
  training: { anchors: 64, poolSize: 128, replayRatio: 1, realign: { everySteps: 1000 } },
  batch: { size: 128 },
});
const DIM = 8;

function rows(count: number, seed: number): Float32Array {
  const mixture = new DriftingMixture({
    seed,
    dim: DIM,
    clusters: 4,
    spread: 0.6,
    separation: 6,
    driftEveryRecords: 0,
  });
  const out = new Float32Array(count * DIM);
  for (let i = 0; i < count; i++) out.set(mixture.next().features, i * DIM);
  return out;
}

async function stepsCounted(metrics: Metrics, name: 'trainingSteps' | 'trainingStepsSkipped') {
  const data = await metrics[name].get();
  return data.values.reduce((n, v) => n + v.value, 0);
}

describe('the online learner, training beside the stream (training.schedule: background)', () => {
  let pool: TrainerPool;
  const store = new OnlineKMeans(onlineKMeansOptionsFromConfig(config.cluster, 8, 1));

  beforeAll(async () => {
    ({ pool } = await TrainerPool.start({
      backend: 'auto',
      model: { ...config.model, inputDim: DIM },
      losses: config.losses,
      workers: 1,
    }));
  });
  afterAll(() => pool.close());

  it('returns at once, trains what the records bought, and drops what lies beyond one batch', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const learner = new OnlineLearner({ config, logger: silentLogger, metrics });
    expect(learner.inBackground).toBe(true);
    learner.remember(rows(512, 1), DIM);
    // 320 records at replayRatio 1 buy 5 steps of 64 anchors; one batch (128 records) is worth 2.
    learner.trainBehind(pool, store, 320);
    expect(learner.trainingSteps).toBe(0);
    await learner.settle();
    expect(learner.trainingSteps).toBe(2);
    expect(await stepsCounted(metrics, 'trainingSteps')).toBe(2);
    expect(await stepsCounted(metrics, 'trainingStepsSkipped')).toBe(3);
  });

  it('lets a batch be embedded after at most the one step in progress', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const learner = new OnlineLearner({ config, logger: silentLogger, metrics });
    learner.remember(rows(512, 2), DIM);
    learner.trainBehind(pool, store, 128);
    // The pool runs calls in order: this one after the step the loop started, before the next.
    const embedded = await pool.step({
      features: rows(64, 3),
      rows: 64,
      train: false,
      phase: 'full',
      seed: 0,
    });
    // The embedding ran after the first step and before the second.
    expect(learner.trainingSteps).toBe(1);
    expect(embedded.embeddings.length).toBe(64 * 8);
    await learner.settle();
    expect(learner.trainingSteps).toBe(2);
  });

  it('after stop, owes nothing and starts no more steps', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const learner = new OnlineLearner({ config, logger: silentLogger, metrics });
    learner.remember(rows(512, 4), DIM);
    learner.trainBehind(pool, store, 128);
    await learner.stop();
    const after = learner.trainingSteps;
    expect(after).toBeLessThanOrEqual(1);
    learner.trainBehind(pool, store, 128);
    await learner.settle();
    expect(learner.trainingSteps).toBe(after);
  });

  it('hands the error that ended a background step to the next caller', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const learner = new OnlineLearner({ config, logger: silentLogger, metrics });
    learner.remember(rows(512, 5), DIM);
    const failing = {
      step: () => Promise.reject(new Error('worker gone')),
    } as unknown as TrainerPool;
    learner.trainBehind(failing, store, 128);
    await expect(learner.settle()).rejects.toThrow('worker gone');
    // Thrown once: the pipeline fails on it, and a later call does not see it again.
    await expect(learner.settle()).resolves.toBeUndefined();
  });
});

describe('which schedule each command trains with', () => {
  it('run trains beside the stream; evaluate and replay inline unless told otherwise', () => {
    expect(validateConfig({}).training.schedule).toBe('background');
    const flags = (args: string[]) => parseEvaluationFlags('evaluate', args, {});
    expect(evaluationConfig(flags([]), {}).training.schedule).toBe('inline');
    expect(
      evaluationConfig(flags(['--set', 'training.schedule=background']), {}).training.schedule,
    ).toBe('background');
  });
});
