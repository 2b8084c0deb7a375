import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { OnlineKMeans } from '../src/cluster/online-k-means.js';
import { nmi } from '../src/eval/metrics/index.js';
import { headLogits, initHead, remapHead, type ClusterHead } from '../src/losses/cluster-head.js';
import { clusteringLoss, type ClusteringLossState } from '../src/losses/combined.js';
import { lossesConfigSchema, type LossesConfig } from '../src/losses/config.js';
import { contrastive } from '../src/losses/contrastive.js';
import { deepCluster } from '../src/losses/deep-cluster.js';
import { kmeans } from '../src/losses/kmeans-loss.js';
import { mulberry32, gaussian } from '../src/losses/mulberry32.js';
import { l2Normalize } from '../src/losses/pairwise-distances.js';
import { reconstruction } from '../src/losses/reconstruction.js';
import { softCluster } from '../src/losses/soft-cluster.js';
import { triplet } from '../src/losses/triplet.js';
import { describeChoice, selectBackend, type BackendRequest } from '../src/model/backend.js';

/*
 * Benchmark of the clustering losses; prints markdown tables.
 *
 * 1. Clustering quality: NMI of the final assignments against the true classes, on a seeded
 *    Gaussian mixture and on scikit-learn's digits (test/fixtures/datasets/digits.csv), for
 *    k-means on the raw features and for an MLP embedding (d → 64 → 32 → 16, adam 1e-3,
 *    seeded) trained with each loss configuration. Every trained configuration starts from the
 *    same autoencoder pretraining (reconstruction only, as DEC/IDEC/DCN do) and the same
 *    centroid store procedure (OnlineKMeans: k-means++ on a warm-up of every record, then one
 *    update per mini-batch of 256); the final assignment is the store's nearest centroid.
 * 2. Cost: milliseconds per forward + backward pass of each loss alone (tf.variableGrads with
 *    respect to the embeddings), at batch 256 and 1,024, embedding dim 16, k = 10; median of
 *    repeated runs after a warm-up.
 *
 * `npx tsx bench/losses.ts [--quick]`
 */

interface Dataset {
  name: string;
  x: Float32Array;
  y: Int32Array;
  n: number;
  dim: number;
  k: number;
}

const EMBED = 16;
const BATCH = 256;

function standardize(x: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let j = 0; j < dim; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * dim + j]! / n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (x[i * dim + j]! - mean) ** 2 / n;
    // Constant columns (digits has some) stay at zero rather than dividing by zero.
    const scale = variance > 0 ? 1 / Math.sqrt(variance) : 0;
    for (let i = 0; i < n; i++) out[i * dim + j] = (x[i * dim + j]! - mean) * scale;
  }
  return out;
}

function loadDigits(): Dataset {
  const url = new URL('../test/fixtures/datasets/digits.csv', import.meta.url);
  const rows = readFileSync(url, 'utf8').trim().split('\n').slice(1);
  const dim = 64;
  const x = new Float32Array(rows.length * dim);
  const y = new Int32Array(rows.length);
  rows.forEach((line, i) => {
    const cells = line.split(',').map(Number);
    for (let j = 0; j < dim; j++) x[i * dim + j] = cells[j]!;
    y[i] = cells[dim]!;
  });
  return {
    name: 'digits (1797 × 64)',
    x: standardize(x, rows.length, dim),
    y,
    n: rows.length,
    dim,
    k: 10,
  };
}

/** 8 Gaussian clusters in 10 informative dimensions plus 10 dimensions of pure noise. */
function makeMixture(seed: number): Dataset {
  const random = mulberry32(seed);
  const [n, k, informative, noise] = [2000, 8, 10, 10];
  const dim = informative + noise;
  const means = Array.from({ length: k }, () =>
    Array.from({ length: informative }, () => 1.6 * gaussian(random)),
  );
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(random() * k);
    y[i] = c;
    for (let j = 0; j < informative; j++) x[i * dim + j] = means[c]![j]! + gaussian(random);
    for (let j = informative; j < dim; j++) x[i * dim + j] = 2 * gaussian(random);
  }
  return { name: `mixture (${n} × ${dim}, k = ${k})`, x: standardize(x, n, dim), y, n, dim, k };
}

function dense(
  units: number,
  seed: number,
  activation: 'relu' | 'linear',
  inputDim?: number,
): tf.layers.Layer {
  return tf.layers.dense({
    units,
    activation,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    ...(inputDim === undefined ? {} : { inputShape: [inputDim] }),
  });
}

function buildAutoencoder(
  dim: number,
  seed: number,
): { encoder: tf.Sequential; decoder: tf.Sequential } {
  const encoder = tf.sequential({
    layers: [
      dense(64, seed, 'relu', dim),
      dense(32, seed + 1, 'relu'),
      dense(EMBED, seed + 2, 'linear'),
    ],
  });
  const decoder = tf.sequential({
    layers: [
      dense(32, seed + 3, 'relu', EMBED),
      dense(64, seed + 4, 'relu'),
      dense(dim, seed + 5, 'linear'),
    ],
  });
  return { encoder, decoder };
}

function variablesOf(...models: tf.LayersModel[]): tf.Variable[] {
  return models.flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));
}

/** A seeded permutation of 0..n−1 per epoch, cut into mini-batches. */
function batches(n: number, seed: number): Int32Array[] {
  const random = mulberry32(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const out: Int32Array[] = [];
  for (let s = 0; s < n; s += BATCH) out.push(order.subarray(s, Math.min(n, s + BATCH)));
  return out;
}

function rows(x: Float32Array, dim: number, index: Int32Array): Float32Array {
  const out = new Float32Array(index.length * dim);
  index.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

function embed(encoder: tf.Sequential, x: Float32Array, n: number, dim: number): Float32Array {
  return tf.tidy(
    () =>
      l2Normalize(
        encoder.predict(tf.tensor2d(x, [n, dim])) as tf.Tensor2D,
      ).dataSync() as Float32Array,
  );
}

function newStore(
  points: Float32Array,
  d: number,
  k: number,
  n: number,
  seed: number,
): OnlineKMeans {
  const store = new OnlineKMeans({
    k,
    dim: d,
    seed,
    warmupSize: n,
    reservoirSize: n,
    decay: { unit: 'points', halfLife: n },
  });
  store.observe(points);
  return store;
}

/** Store row of each point (ids are stable but not necessarily 0..k−1). */
function assignRows(store: OnlineKMeans, points: Float32Array): Int32Array {
  const { ids } = store.centroids();
  const row = new Map<number, number>();
  ids.forEach((id, r) => row.set(id, r));
  return Int32Array.from(store.assign(points).clusterIds, (id) => row.get(id)!);
}

function rawKMeansNmi(data: Dataset, epochs: number): number {
  const store = newStore(data.x, data.dim, data.k, data.n, 3);
  for (let e = 0; e < epochs; e++) {
    for (const b of batches(data.n, 100 + e)) store.update(rows(data.x, data.dim, b));
  }
  return nmi(data.y, store.assign(data.x).clusterIds);
}

interface Setting {
  name: string;
  config: LossesConfig;
  head: boolean;
}

const off = { weight: 0 };
/** Reconstruction only: what the pretrained embedding gives before any clustering loss. */
const AE_ONLY: Setting = {
  name: 'autoencoder embedding, no clustering loss',
  config: lossesConfigSchema.parse({
    triplet: off,
    kmeans: off,
    reconstruction: { weight: 1, auto: false },
  }),
  head: false,
};
const SETTINGS: Setting[] = [
  {
    name: 'k-means loss alone',
    config: lossesConfigSchema.parse({ triplet: off, kmeans: { weight: 1 }, reconstruction: off }),
    head: false,
  },
  {
    name: 'triplet (batch-hard, pseudo-labels) + k-means',
    config: lossesConfigSchema.parse({
      triplet: { weight: 1, margin: 0.2 },
      kmeans: { weight: 0.1 },
      reconstruction: off,
    }),
    head: false,
  },
  {
    name: 'soft clustering (DEC) + reconstruction',
    config: lossesConfigSchema.parse({
      triplet: off,
      kmeans: off,
      softCluster: { weight: 1 },
      reconstruction: { weight: 1 },
    }),
    head: false,
  },
  {
    name: 'deep clustering (prototype head, inverse-sqrt)',
    config: lossesConfigSchema.parse({
      triplet: off,
      kmeans: off,
      deepCluster: { weight: 1 },
      reconstruction: off,
    }),
    head: true,
  },
];

async function trainSetting(
  data: Dataset,
  setting: Setting,
  pretrained: tf.Tensor[],
  epochs: number,
): Promise<number> {
  const { encoder, decoder } = buildAutoencoder(data.dim, 1);
  encoder.setWeights(pretrained.slice(0, encoder.weights.length));
  decoder.setWeights(pretrained.slice(encoder.weights.length));
  const optimizer = tf.train.adam(1e-3);
  const store = newStore(embed(encoder, data.x, data.n, data.dim), EMBED, data.k, data.n, 3);
  let head: { params: ClusterHead; ids: Int32Array; variable: tf.Variable } | undefined;
  const resetHead = (sources?: number[][]): void => {
    const { ids, data: c } = store.centroids();
    const centroids = tf.tensor2d(c, [ids.length, EMBED]);
    const params =
      head === undefined || sources === undefined
        ? initHead('prototype', centroids, setting.config.deepCluster.temperature)
        : remapHead(
            { ...head.params, prototypes: head.variable as tf.Tensor2D } as ClusterHead,
            sources,
            centroids,
          );
    if (params.kind !== 'prototype') throw new Error('the bench uses a prototype head');
    head?.variable.dispose();
    head = { params, ids, variable: tf.variable(params.prototypes) };
    params.prototypes.dispose();
    centroids.dispose();
  };
  if (setting.head) resetHead();
  let state: ClusteringLossState = {};
  let step = 0;
  for (let e = 0; e < epochs; e++) {
    for (const b of batches(data.n, 100 + e)) {
      const xb = rows(data.x, data.dim, b);
      const zb = embed(encoder, xb, b.length, data.dim);
      const pseudo = assignRows(store, zb);
      const { ids, data: c, weights } = store.centroids();
      if (head !== undefined && ids.join() !== head.ids.join()) {
        // The store split, merged or replaced clusters: carry the head's classes over by id.
        const old = new Map<number, number>();
        head.ids.forEach((id, r) => old.set(id, r));
        resetHead(Array.from(ids, (id) => (old.has(id) ? [old.get(id)!] : [])));
      }
      tf.tidy(() => {
        const input = tf.tensor2d(xb, [b.length, data.dim]);
        const centroids = tf.tensor2d(c, [ids.length, EMBED]);
        const vars = variablesOf(encoder, decoder);
        if (head !== undefined) vars.push(head.variable);
        optimizer.minimize(
          () => {
            const z = encoder.apply(input) as tf.Tensor2D;
            const r = clusteringLoss(
              {
                embeddings: z,
                labels: pseudo,
                centroids,
                inputs: input,
                reconstruction: decoder.apply(z) as tf.Tensor2D,
                pseudoLabels: pseudo,
                clusterSizes: Float32Array.from(weights),
                seed: step,
                ...(head === undefined
                  ? {}
                  : {
                      headLogits: headLogits(z, {
                        kind: 'prototype',
                        prototypes: head.variable as tf.Tensor2D,
                        temperature: setting.config.deepCluster.temperature,
                      }),
                    }),
              },
              setting.config,
              state,
            );
            state = r.state;
            return r.total;
          },
          false,
          vars,
        );
      });
      store.update(embed(encoder, xb, b.length, data.dim));
      step++;
    }
  }
  const score = nmi(data.y, store.assign(embed(encoder, data.x, data.n, data.dim)).clusterIds);
  head?.variable.dispose();
  optimizer.dispose();
  encoder.dispose();
  decoder.dispose();
  await tf.nextFrame();
  return score;
}

function pretrain(data: Dataset, epochs: number): tf.Tensor[] {
  const { encoder, decoder } = buildAutoencoder(data.dim, 1);
  const optimizer = tf.train.adam(1e-3);
  for (let e = 0; e < epochs; e++) {
    for (const b of batches(data.n, 1000 + e)) {
      tf.tidy(() => {
        const input = tf.tensor2d(rows(data.x, data.dim, b), [b.length, data.dim]);
        optimizer.minimize(
          () => reconstruction(input, decoder.apply(encoder.apply(input)) as tf.Tensor2D),
          false,
          variablesOf(encoder, decoder),
        );
      });
    }
  }
  const weights = [...encoder.getWeights(), ...decoder.getWeights()].map((w) => tf.keep(w.clone()));
  optimizer.dispose();
  encoder.dispose();
  decoder.dispose();
  return weights;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function costTable(reps: number): string[] {
  const k = 10;
  const cases: Array<
    [string, (z: tf.Tensor2D, labels: Int32Array, c: tf.Tensor2D, x: tf.Tensor2D) => tf.Scalar]
  > = [
    ['contrastive (all pairs)', (z, l) => contrastive(z, l).loss],
    ['triplet batch-hard', (z, l) => triplet(z, l, { margin: 0.2 }).loss],
    ['triplet semi-hard', (z, l) => triplet(z, l, { margin: 0.2, strategy: 'semi-hard' }).loss],
    [
      'triplet all (capped at 2^20)',
      (z, l) => triplet(z, l, { margin: 0.2, strategy: 'all' }).loss,
    ],
    ['k-means', (z, _l, c) => kmeans(l2Normalize(z), c)],
    ['soft clustering (DEC)', (z, _l, c) => softCluster(l2Normalize(z), c).loss],
    [
      'soft clustering (Sinkhorn)',
      (z, _l, c) => softCluster(l2Normalize(z), c, { target: 'sinkhorn' }).loss,
    ],
    [
      'deep clustering (inverse-sqrt)',
      (z, l) => deepCluster(tf.matMul(z, tf.ones([EMBED, k])) as tf.Tensor2D, l),
    ],
    [
      'reconstruction (64 features)',
      (z, _l, _c, x) => reconstruction(x, tf.matMul(z, tf.ones([EMBED, 64])) as tf.Tensor2D),
    ],
  ];
  const lines = [
    '| loss (forward + backward) | batch 256 (ms) | batch 1,024 (ms) |',
    '| --- | ---: | ---: |',
  ];
  const random = mulberry32(17);
  const setup = (b: number) => ({
    z: tf.variable(tf.randomNormal([b, EMBED], 0, 1, 'float32', b)),
    labels: Int32Array.from({ length: b }, () => Math.floor(random() * k)),
    c: l2Normalize(tf.randomNormal([k, EMBED], 0, 1, 'float32', 5)),
    x: tf.randomNormal([b, 64], 0, 1, 'float32', 7) as tf.Tensor2D,
  });
  const inputs = [setup(256), setup(1024)];
  for (const [name, f] of cases) {
    const cells = inputs.map(({ z, labels, c, x }) => {
      const run = (): number => {
        const t0 = performance.now();
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => f(z as tf.Tensor2D, labels, c, x), [z]);
          value.dataSync();
          (grads[z.name] as tf.Tensor).dataSync();
        });
        return performance.now() - t0;
      };
      run();
      return median(Array.from({ length: reps }, run)).toFixed(1);
    });
    lines.push(`| ${name} | ${cells[0]} | ${cells[1]} |`);
  }
  for (const i of inputs) tf.dispose([i.z, i.c, i.x]);
  return lines;
}

/** The backend production would pick (native where built), or STREAMCLUST_BENCH_BACKEND. */
async function chooseBackend(): Promise<string> {
  const request = (process.env['STREAMCLUST_BENCH_BACKEND'] ?? 'auto') as BackendRequest;
  const choice = await selectBackend(tf, request);
  console.error(`(losses: ${describeChoice(choice)})`);
  return choice.name;
}

export async function runLossBench(options: { quick?: boolean } = {}): Promise<void> {
  const quick = options.quick ?? false;
  const backend = await chooseBackend();
  await tf.ready();
  const [pretrainEpochs, epochs, reps] = quick ? [5, 5, 3] : [60, 40, 9];
  console.log(`\n## Clustering losses (backend: ${backend}${quick ? ', quick' : ''})\n`);
  console.log(
    `NMI of the final assignments; ${pretrainEpochs} autoencoder pretraining epochs, then ${epochs} epochs per configuration, batch ${BATCH}.\n`,
  );
  const datasets = [makeMixture(42), loadDigits()];
  const table = new Map<string, string[]>();
  const t0 = performance.now();
  for (const data of datasets) {
    const put = (name: string, v: number): void => {
      table.set(name, [...(table.get(name) ?? []), v.toFixed(3)]);
    };
    put('k-means on raw features', rawKMeansNmi(data, epochs));
    const pretrained = pretrain(data, pretrainEpochs);
    put(
      'autoencoder embedding, no clustering loss',
      await trainSetting(data, AE_ONLY, pretrained, epochs),
    );
    for (const setting of SETTINGS)
      put(setting.name, await trainSetting(data, setting, pretrained, epochs));
    tf.dispose(pretrained);
  }
  console.log(`| configuration | ${datasets.map((d) => d.name).join(' | ')} |`);
  console.log(`| --- | ${datasets.map(() => '---:').join(' | ')} |`);
  for (const [name, cells] of table) console.log(`| ${name} | ${cells.join(' | ')} |`);
  console.log(`\n(training took ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  console.log(`Cost per batch, embedding dim ${EMBED}, k = 10, median of ${reps} runs:\n`);
  for (const line of costTable(reps)) console.log(line);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runLossBench({ quick: process.argv.includes('--quick') });
}
