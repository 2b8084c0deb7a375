/**
 * One model replica inside its worker thread: the embedding network (with its decoder when the
 * reconstruction term is on, and the deep-clustering head when that loss is on) and its
 * optimiser.
 *
 * Replicas stay identical by synchronous data parallelism: `step` embeds the replica's shard
 * with the current weights and returns the gradients of the shard's objective; the main thread
 * averages the shards' gradients and sends the same `apply` to every replica, which applies it
 * with its own (identical) optimiser state. (A lone replica applies its own gradients inside
 * the step, `applyAs`: the same update, one message fewer.) Same initial weights (seeded), same
 * updates in the same order, same kernels: the same weights, which the replica test checks bit
 * for bit. A single writer publishing weights would also keep replicas equal, but it serialises
 * all training on one thread; averaging lets every worker share the backward pass.
 *
 * The deep-clustering head follows the store by cluster id: when the store's ids change (a
 * split, a re-seed, a death, a birth), classes whose id survives keep their weights and new ids
 * start from their centroid (see remapHead). A merge keeps the surviving id's class.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import * as tf from '@tensorflow/tfjs';

import { headLogits, initHead, remapHead, type ClusterHead } from '../losses/cluster-head.js';
import { clusteringLoss, type ClusteringLossState } from '../losses/combined.js';
import { effectiveReconstructionWeight, type LossesConfig } from '../losses/config.js';
import { selectBackend } from './backend.js';
import { hasObjective, lossInputs, needsPseudoLabels, stepLosses } from './step-objective.js';
import { buildDecoder, buildEmbeddingNetwork, l2Normalize } from './embedding-network.js';
import { entryValues, pack, type ModelState, type PackedTensors } from './model-state.js';
import type {
  ApplyResult,
  ApplyTask,
  HeapResult,
  InitResult,
  InitTask,
  ModelSpec,
  SetStateResult,
  SetStateTask,
  StepMiningStats,
  StepResult,
  StepTask,
} from './protocol.js';

interface Head {
  ids: Int32Array;
  head: ClusterHead;
  generation: number;
  /**
   * The head's own optimiser: tfjs' Adam keys its slots by the position of a variable in the
   * update, so a head whose shape changes with k must not share slots with the network.
   */
  optimizer: tf.Optimizer;
}

const HEAD_SLOT = 'head-optimizer:';

interface TrainerState {
  spec: ModelSpec;
  encoder: tf.Sequential;
  decoder: tf.Sequential | undefined;
  optimizer: tf.Optimizer;
  losses: LossesConfig;
  version: number;
  lossState: ClusteringLossState;
  head: Head | undefined;
}

let state: TrainerState | undefined;

export async function initTrainer(task: InitTask): Promise<InitResult> {
  // PROD silences tfjs' "install the node backend" banner; the backend choice is logged instead.
  tf.env().set('PROD', true);
  const backend = await selectBackend(tf, task.backend);
  disposeState();
  const encoder = buildEmbeddingNetwork(task.model);
  const needsDecoder =
    effectiveReconstructionWeight(task.losses) > 0 || task.losses.reconstruction.weight > 0;
  const decoder = needsDecoder ? buildDecoder(task.model) : undefined;
  const optimizer = makeOptimizer(task.model);
  state = {
    spec: task.model,
    encoder,
    decoder,
    optimizer,
    losses: task.losses,
    version: 0,
    lossState: {},
    head: undefined,
  };
  if (task.state !== undefined) await setState(state, task.state);
  const parameterCount = encoder.countParams() + (decoder?.countParams() ?? 0);
  return { kind: 'init', backend, modelVersion: state.version, parameterCount };
}

function makeOptimizer(spec: ModelSpec): tf.Optimizer {
  return spec.optimizer === 'sgd'
    ? tf.train.sgd(spec.learningRate)
    : tf.train.adam(spec.learningRate);
}

export function step(task: StepTask): StepResult {
  const s = requireState();
  const inputDim = s.spec.inputDim;
  if (task.features.length !== task.rows * inputDim) {
    throw new TypeError(
      `step: features has ${task.features.length} values, expected rows × inputDim = ${task.rows} × ${inputDim}`,
    );
  }
  const started = performance.now();
  const replay = task.anchors !== undefined;
  const embeddings =
    replay && !needsPseudoLabels(s.losses, task)
      ? new Float32Array(0)
      : embed(s, task.features, task.rows);
  const embedded = performance.now();
  const losses = stepLosses(s.losses, task);
  const trains = task.train && task.rows > 0 && hasObjective(losses, s.decoder !== undefined);
  const trained = trains ? gradients(s, task, embeddings, losses) : undefined;
  if (trained !== undefined && task.applyAs !== undefined)
    apply({ kind: 'apply', gradients: trained.gradients, version: task.applyAs });
  return {
    kind: 'step',
    embeddings: replay ? new Float32Array(0) : embeddings,
    ...(trained === undefined
      ? { losses: {} }
      : {
          gradients: trained.gradients,
          losses: trained.losses,
          total: trained.total,
          ...(trained.mining === undefined ? {} : { mining: trained.mining }),
        }),
    modelVersion: s.version,
    embedMs: embedded - started,
    trainMs: performance.now() - embedded,
    numTensors: tf.memory().numTensors,
    heapUsedBytes: getHeapStatistics().used_heap_size,
  };
}

export function apply(task: ApplyTask): ApplyResult {
  const s = requireState();
  if (task.version !== s.version + 1) {
    throw new Error(
      `apply: update to version ${task.version}, but this replica is at version ${s.version}`,
    );
  }
  const { entries, variables } =
    task.follower === true
      ? followedEntries(task.gradients)
      : { entries: task.gradients.entries, variables: trainableVariables() };
  if (entries.length !== variables.length) {
    throw new Error(`apply: ${entries.length} gradients for ${variables.length} variables`);
  }
  tf.tidy(() => {
    const grads: tf.NamedTensorMap = {};
    const headGrads: tf.NamedTensorMap = {};
    const clip = s.spec.gradientClipNorm;
    let scale = 1;
    if (clip > 0) {
      let norm2 = 0;
      for (const v of task.gradients.values) norm2 += v * v;
      const norm = Math.sqrt(norm2);
      if (norm > clip) scale = clip / norm;
    }
    entries.forEach((entry, i) => {
      const variable = variables[i] as tf.Variable;
      if (entry.name !== variable.name) {
        throw new Error(
          `apply: gradient ${i} is for ${entry.name}, the variable is ${variable.name}`,
        );
      }
      const g = tf.tensor(entryValues(task.gradients, entry), entry.shape);
      (isHead(variable.name) ? headGrads : grads)[variable.name] =
        scale === 1 ? g : tf.mul(g, scale);
    });
    s.optimizer.applyGradients(grads);
    if (s.head !== undefined && Object.keys(headGrads).length > 0)
      s.head.optimizer.applyGradients(headGrads);
  });
  s.version = task.version;
  return { kind: 'apply', modelVersion: s.version, numTensors: tf.memory().numTensors };
}

/**
 * The heap after a full collection: what the replica really holds, unlike the heap after a
 * step, which also counts garbage not yet collected and swings with the collector's timing.
 * Without --expose-gc, the flag is set for a moment to obtain V8's gc function.
 */
export function heapAfterGc(): HeapResult {
  collectGarbage();
  return {
    kind: 'heap',
    heapUsedBytes: getHeapStatistics().used_heap_size,
    numTensors: tf.memory().numTensors,
  };
}

let gcFunction: (() => void) | undefined;

function collectGarbage(): void {
  if (gcFunction === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) gcFunction = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as () => void;
      setFlagsFromString('--no-expose-gc');
    }
  }
  gcFunction();
}

export async function getState(): Promise<ModelState> {
  const s = requireState();
  const variables = pack([
    ...trainableVariables().map((v) => ({
      name: v.name,
      shape: v.shape,
      values: v.dataSync() as Float32Array,
    })),
    ...(s.head === undefined
      ? []
      : [{ name: 'head/ids', shape: [s.head.ids.length], values: Float32Array.from(s.head.ids) }]),
  ]);
  const slots = [
    ...(await s.optimizer.getWeights()),
    ...(s.head === undefined ? [] : await s.head.optimizer.getWeights()).map((w) => ({
      ...w,
      name: HEAD_SLOT + w.name,
    })),
  ];
  const optimizer = pack(
    slots.map((w) => ({
      name: w.name,
      shape: w.tensor.shape,
      values: Float32Array.from(w.tensor.dataSync()),
    })),
  );
  // getWeights() returns the slot variables themselves plus a fresh scalar for the step count:
  // dispose what is not a variable, or every checkpoint and snapshot leaks a tensor.
  tf.dispose(slots.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
  return { version: s.version, variables, optimizer };
}

/** Takes a published state (the group leader's weights); see SetStateTask. */
export async function setModelState(task: SetStateTask): Promise<SetStateResult> {
  const s = requireState();
  await setState(s, task.state);
  return { kind: 'set-state', modelVersion: s.version };
}

async function setState(s: TrainerState, saved: ModelState): Promise<void> {
  const byName = new Map(saved.variables.entries.map((e) => [e.name, e]));
  const ids = byName.get('head/ids');
  if (ids !== undefined) restoreHead(s, saved.variables, ids.shape[0] ?? 0);
  for (const variable of trainableVariables()) {
    const entry = byName.get(variable.name);
    if (entry === undefined)
      throw new Error(`checkpoint has no value for variable ${variable.name}`);
    if (entry.shape.join('x') !== variable.shape.join('x')) {
      throw new Error(
        `checkpoint shape of ${variable.name} is [${entry.shape.join(', ')}], the model's is [${variable.shape.join(', ')}]: ` +
          'the model configuration changed since the checkpoint was written',
      );
    }
    const value = tf.tensor(entryValues(saved.variables, entry), entry.shape);
    variable.assign(value);
    value.dispose();
  }
  const slots = saved.optimizer.entries.map((e) => ({
    name: e.name,
    tensor: tf.tensor(entryValues(saved.optimizer, e), e.shape),
  }));
  const main = slots.filter((w) => !w.name.startsWith(HEAD_SLOT));
  const head = slots
    .filter((w) => w.name.startsWith(HEAD_SLOT))
    .map((w) => ({ ...w, name: w.name.slice(HEAD_SLOT.length) }));
  if (main.length > 0) await s.optimizer.setWeights(main);
  if (head.length > 0 && s.head !== undefined) await s.head.optimizer.setWeights(head);
  // setWeights makes variables of its own from these tensors.
  tf.dispose(slots.map((w) => w.tensor));
  s.version = saved.version;
}

function restoreHead(s: TrainerState, variables: PackedTensors, k: number): void {
  const get = (name: string): tf.Tensor | undefined => {
    const entry = variables.entries.find((e) => isHead(e.name) && e.name.endsWith(name));
    return entry === undefined ? undefined : tf.tensor(entryValues(variables, entry), entry.shape);
  };
  const idsEntry = variables.entries.find((e) => e.name === 'head/ids');
  const ids = Int32Array.from(idsEntry === undefined ? [] : entryValues(variables, idsEntry));
  const generationOf = (name: string): number => Number(/^head_(\d+)\//.exec(name)?.[1] ?? 0);
  const generation = Math.max(
    0,
    ...variables.entries.filter((e) => e.name.startsWith('head_')).map((e) => generationOf(e.name)),
  );
  const kernel = get('/kernel');
  const bias = get('/bias');
  const prototypes = get('/prototypes');
  const head: ClusterHead =
    kernel !== undefined && bias !== undefined
      ? { kind: 'linear', kernel: kernel as tf.Tensor2D, bias: bias as tf.Tensor1D }
      : {
          kind: 'prototype',
          prototypes: (prototypes ?? tf.zeros([k, s.spec.embeddingDim])) as tf.Tensor2D,
          temperature: s.losses.deepCluster.temperature,
        };
  s.head = {
    ids,
    head: toVariables(head, generation),
    generation,
    optimizer: makeOptimizer(s.spec),
  };
  disposeHead(head);
}

function isHead(name: string): boolean {
  return name.startsWith('head_');
}

/**
 * The representation the store clusters. The decoder reads this one too: decoding the raw
 * output would let the autoencoder keep its information in the norm, which normalisation throws
 * away, and the directions the store sees collapse to one (observed on digits: reconstruction
 * alone drove every record into one cluster within three passes).
 */
function clustered(z: tf.Tensor2D): tf.Tensor2D {
  return requireState().losses.normalize ? l2Normalize(z) : z;
}

function embed(s: TrainerState, features: Float32Array, rows: number): Float32Array {
  // Read the values outside tidy: tidy walks whatever its function returns looking for tensors,
  // key by key, which for a typed array of rows × dim numbers cost more than the forward pass
  // itself (148 ms against 2 ms for a 1,024 × 256 result on the native backend).
  const out = tf.tidy(() => {
    // apply, not predict: predict splits its input into batches of 32 and concatenates them
    // again, 17× slower for 1,024 rows on the native backend and 5× on wasm.
    const x = tf.tensor2d(features, [rows, s.spec.inputDim]);
    const z = s.encoder.apply(x, { training: false }) as tf.Tensor2D;
    return s.losses.normalize ? l2Normalize(z) : z;
  });
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}

function gradients(
  s: TrainerState,
  task: StepTask,
  embeddings: Float32Array,
  losses: LossesConfig,
): {
  gradients: PackedTensors;
  losses: Record<string, number>;
  total: number;
  mining: StepMiningStats | undefined;
} {
  const inputs = lossInputs(s.spec, task, embeddings, losses);
  const head = inputs.needsHead ? followStore(s, task) : undefined;
  const variables = trainableVariables();
  let values: Record<string, number> = {};
  let mining: StepMiningStats | undefined;
  const x = tf.tensor2d(inputs.features, [inputs.rows, s.spec.inputDim]);
  const centroids =
    task.centroids === undefined
      ? undefined
      : tf.tensor2d(task.centroids, [task.clusters as number, s.spec.embeddingDim]);
  try {
    const { value, grads } = tf.variableGrads(() => {
      const z = s.encoder.apply(x, { training: true }) as tf.Tensor2D;
      const result = clusteringLoss(
        {
          embeddings: z,
          paired: inputs.paired,
          inputs: x,
          ...(centroids === undefined ? {} : { centroids }),
          ...(s.decoder === undefined
            ? {}
            : { reconstruction: s.decoder.apply(clustered(z), { training: true }) as tf.Tensor2D }),
          ...(inputs.labels === undefined ? {} : { labels: inputs.labels }),
          ...(head === undefined ? {} : { headLogits: headLogits(z, head) }),
          ...(inputs.pseudoLabels === undefined ? {} : { pseudoLabels: inputs.pseudoLabels }),
          ...(task.clusterSizes === undefined ? {} : { clusterSizes: task.clusterSizes }),
          seed: task.seed,
        },
        losses,
        s.lossState,
      );
      s.lossState = result.state;
      values = result.values as Record<string, number>;
      const m = result.mining.triplet ?? result.mining.pair ?? inputs.pairs;
      if (m !== undefined)
        mining = { found: m.found, active: m.active, droppedFraction: m.droppedFraction };
      return result.total;
    }, variables);
    // A variable the objective does not touch (the decoder during a phase without it) gets zeros.
    const packed = pack(
      variables.map((v) => ({
        name: v.name,
        shape: v.shape,
        values:
          grads[v.name] === undefined
            ? new Float32Array(v.size)
            : (grads[v.name]!.dataSync() as Float32Array),
      })),
    );
    const total = value.dataSync()[0] ?? 0;
    tf.dispose([value, ...Object.values(grads)]);
    return { gradients: packed, losses: values, total, mining };
  } finally {
    x.dispose();
    centroids?.dispose();
  }
}

/** The deep-clustering head, remapped when the store's cluster ids changed since the last step. */
function followStore(s: TrainerState, task: StepTask): ClusterHead {
  const k = task.clusters as number;
  const ids = task.centroidIds ?? Int32Array.from({ length: k }, (_, i) => i);
  const { head: kind, temperature } = s.losses.deepCluster;
  const current = s.head;
  if (current !== undefined && sameIds(current.ids, ids)) return current.head;
  const next = tf.tidy(() => {
    const centroids = tf.tensor2d(task.centroids as Float32Array, [k, s.spec.embeddingDim]);
    if (current === undefined) return initHead(kind, centroids, temperature);
    const position = new Map([...current.ids].map((id, index) => [id, index]));
    const sources = [...ids].map((id) => (position.has(id) ? [position.get(id) as number] : []));
    return remapHead(current.head, sources, centroids);
  });
  const generation = (current?.generation ?? 0) + 1;
  if (current !== undefined) {
    disposeHead(current.head);
    current.optimizer.dispose();
  }
  s.head = {
    ids: Int32Array.from(ids),
    head: toVariables(next, generation),
    generation,
    optimizer: makeOptimizer(s.spec),
  };
  disposeHead(next);
  return s.head.head;
}

/** Named variables, so every replica (and a restored checkpoint) agrees on the names. */
function toVariables(head: ClusterHead, generation: number): ClusterHead {
  const prefix = `head_${generation}`;
  return head.kind === 'linear'
    ? {
        kind: 'linear',
        kernel: tf.variable(head.kernel, true, `${prefix}/kernel`),
        bias: tf.variable(head.bias, true, `${prefix}/bias`),
      }
    : {
        kind: 'prototype',
        prototypes: tf.variable(head.prototypes, true, `${prefix}/prototypes`),
        temperature: head.temperature,
      };
}

/**
 * The entries an embedding replica applies: those of its own variables, by name. It skips the
 * deep-clustering head (which a replica started from a training replica's state does hold, but
 * which never changes an embedding) and the head optimiser's scalars (Adam registers its β
 * powers as trainable variables, which is why they have entries at all); every layer variable
 * must have its entry.
 */
function followedEntries(gradients: PackedTensors): {
  entries: PackedTensors['entries'];
  variables: tf.Variable[];
} {
  const byName = new Map(trainableVariables().map((v) => [v.name, v]));
  const entries = gradients.entries.filter((e) => !isHead(e.name) && byName.has(e.name));
  const missing = [...byName.keys()].filter(
    (name) => name.includes('/') && !isHead(name) && !entries.some((e) => e.name === name),
  );
  if (missing.length > 0) throw new Error(`apply: no gradient for ${missing.join(', ')}`);
  return { entries, variables: entries.map((e) => byName.get(e.name) as tf.Variable) };
}

/** Every trainable variable, in registration order (the same on every replica). */
function trainableVariables(): tf.Variable[] {
  return Object.values(tf.engine().registeredVariables).filter((v) => v.trainable);
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function disposeHead(head: ClusterHead): void {
  if (head.kind === 'linear') tf.dispose([head.kernel, head.bias]);
  else head.prototypes.dispose();
}

function disposeState(): void {
  if (state === undefined) return;
  state.encoder.dispose();
  state.decoder?.dispose();
  state.optimizer.dispose();
  if (state.head !== undefined) {
    disposeHead(state.head.head);
    state.head.optimizer.dispose();
  }
  state = undefined;
}

function requireState(): TrainerState {
  if (state === undefined) throw new Error('trainer used before init');
  return state;
}
