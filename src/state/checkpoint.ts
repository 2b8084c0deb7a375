/**
 * Checkpoints: everything the pipeline's state is made of, with the source offsets it
 * corresponds to, in one self-describing, checksummed JSON file.
 *
 * Atomic: the file is written beside its final name, flushed to disk, then renamed over it, so a
 * crash leaves either the previous checkpoint or the new one, never a torn file. Confined: the
 * only paths written are `checkpoint.json` and its temporary sibling inside the configured
 * directory; nothing from the data or the file itself decides a path.
 *
 * Offsets are the next offset to read per (topic, partition): every record before them is in
 * the model, the store and the decoder statistics; records from there on are not. A resumed
 * pipeline reads from these offsets, so its state reflects each record once even though records
 * between the checkpoint and the last commit are assigned (output) a second time.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { OnlineKMeansSnapshot } from '../cluster/online-k-means.js';
import { decodeF64 } from '../cluster/snapshot-codec.js';
import type { DecoderStatistics } from '../decode/json-decoder.js';
import { StreamclustError } from '../errors.js';
import type { ModelStateJson } from '../model/model-state.js';
import type { ReplayMemorySnapshot } from '../model/replay-memory.js';

export const CHECKPOINT_FORMAT = 'streamclust-checkpoint';
export const CHECKPOINT_VERSION = 1;
const FILE = 'checkpoint.json';

export interface SourceOffset {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: string;
}

export interface CheckpointBody {
  writtenAt: string;
  batches: number;
  records: number;
  inputDim: number;
  /** Digest of the configuration sections the state depends on (model, losses, decode, cluster). */
  configDigest: string;
  /** Those settings themselves (stateSettings), so a mismatch can be named; absent before 0.1.0. */
  stateSettings?: Record<string, unknown>;
  model: ModelStateJson;
  store: OnlineKMeansSnapshot;
  decoder: DecoderStatistics;
  /** The online learner's replay memory (absent without a network, or before any record). */
  memory?: ReplayMemorySnapshot;
  offsets: SourceOffset[];
}

export interface CheckpointFile extends CheckpointBody {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  /** sha256 of the canonical JSON of the body. */
  checksum: string;
}

export class CheckpointError extends StreamclustError {}

export function checkpointPath(dir: string): string {
  return join(resolve(dir), FILE);
}

export async function writeCheckpoint(dir: string, body: CheckpointBody): Promise<string> {
  const root = resolve(dir);
  const file: CheckpointFile = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_VERSION,
    checksum: digest(body),
    ...body,
  };
  const target = join(root, FILE);
  const temporary = join(root, `.${FILE}.${process.pid}.tmp`);
  try {
    await mkdir(root, { recursive: true });
    await removeStaleTemporaries(root);
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(file));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    // A full or read-only disk must not leave a partial file behind (nor fill the disk further).
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new CheckpointError(
      `cannot write the checkpoint in ${root} (${(error as NodeJS.ErrnoException).code ?? String(error)}): ` +
        'the previous checkpoint, if any, is untouched',
      { cause: error },
    );
  }
  return target;
}

const TEMPORARY = new RegExp(`^\\.${FILE.replace('.', '\\.')}\\.(\\d+)\\.tmp$`);

/**
 * Removes temporaries that a process killed while writing left behind (the pid in the name is
 * no longer running). This process's own name is reused on its next write anyway.
 */
async function removeStaleTemporaries(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(TEMPORARY.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    await rm(join(root, name), { force: true }).catch(() => undefined);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readCheckpoint(dir: string): Promise<CheckpointFile> {
  const path = checkpointPath(dir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CheckpointError(
      `cannot read the checkpoint ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): ` +
        'check checkpoint.dir, or start without --resume',
      { cause: error },
    );
  }
  let parsed: CheckpointFile;
  try {
    parsed = JSON.parse(text) as CheckpointFile;
  } catch (error) {
    throw new CheckpointError(
      `the checkpoint ${path} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (parsed.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${path} is not a streamclust checkpoint (format ${JSON.stringify(parsed.format)})`,
    );
  }
  if (parsed.formatVersion !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `the checkpoint ${path} has format version ${parsed.formatVersion}; this streamclust reads version ${CHECKPOINT_VERSION}`,
    );
  }
  const { format: _format, formatVersion: _version, checksum, ...body } = parsed;
  if (digest(body) !== checksum) {
    throw new CheckpointError(
      `the checkpoint ${path} fails its checksum: it was modified or is damaged`,
    );
  }
  const problems = implausibleValues(parsed);
  if (problems.length > 0) {
    throw new CheckpointError(
      `the checkpoint ${path} holds values no run can have written (${problems.slice(0, 5).join('; ')}): ` +
        'it was edited (and its checksum recomputed) or written by a broken build; restore an earlier ' +
        'checkpoint, or start without --resume',
    );
  }
  return parsed;
}

/**
 * Semantic checks beyond the checksum, which anyone can recompute after an edit: counts are
 * non-negative integers, dimensions agree, statistics are finite (variances and weights not
 * negative), offsets are offsets. Each problem is named; none means the state can be used.
 */
export function implausibleValues(file: CheckpointFile): string[] {
  const problems: string[] = [];
  const count = (name: string, v: unknown): void => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0))
      problems.push(`${name} is ${JSON.stringify(v)}, not a count`);
  };
  count('records', file.records);
  count('batches', file.batches);
  count('inputDim', file.inputDim);
  const d = file.decoder as Partial<DecoderStatistics> | undefined;
  if (d === undefined || d === null) problems.push('decoder is missing');
  else {
    count('decoder.count', d.count);
    if (d.dim !== file.inputDim)
      problems.push(`decoder.dim ${d.dim} differs from inputDim ${file.inputDim}`);
    for (const [name, values] of [
      ['decoder.mean', d.mean],
      ['decoder.m2', d.m2],
    ] as const) {
      if (!Array.isArray(values)) {
        problems.push(`${name} is not a list`);
        continue;
      }
      if (values.length !== 0 && values.length !== file.inputDim)
        problems.push(`${name} has ${values.length} values for ${file.inputDim} features`);
      const bad = values.findIndex(
        (v) => typeof v !== 'number' || !Number.isFinite(v) || (name === 'decoder.m2' && v < 0),
      );
      if (bad >= 0) problems.push(`${name}[${bad}] is ${JSON.stringify(values[bad])}`);
    }
  }
  const store = file.store as Partial<OnlineKMeansSnapshot> | undefined;
  const state = store?.state;
  const dim = store?.options?.dim;
  if (state === undefined || dim === undefined) problems.push('store is missing');
  else {
    count('store.options.dim', dim);
    count('store.state.count', state.count);
    try {
      const centroids = decodeF64(state.centroids, 'centroids');
      const weights = decodeF64(state.weights, 'weights');
      if (centroids.length !== state.count * dim)
        problems.push(`store has ${centroids.length} centroid values for ${state.count} × ${dim}`);
      if (weights.length !== state.count)
        problems.push(`store has ${weights.length} weights for ${state.count} clusters`);
      const c = centroids.findIndex((v) => !Number.isFinite(v));
      if (c >= 0) problems.push(`store centroid value ${c} is ${centroids[c]}`);
      const w = weights.findIndex((v) => !Number.isFinite(v) || v < 0);
      if (w >= 0) problems.push(`store weight ${w} is ${weights[w]}`);
    } catch (error) {
      problems.push(`store arrays: ${(error as Error).message}`);
    }
  }
  if (!Array.isArray(file.offsets)) problems.push('offsets is not a list');
  else
    for (const o of file.offsets) {
      if (
        typeof o?.topic !== 'string' ||
        !Number.isInteger(o.partition) ||
        o.partition < 0 ||
        !/^\d+$/.test(String(o.offset))
      )
        problems.push(`offset ${JSON.stringify(o)} is not a topic, partition and offset`);
    }
  return problems;
}

function digest(body: CheckpointBody): string {
  return createHash('sha256').update(canonical(body)).digest('hex');
}

/** JSON with object keys sorted, so the checksum does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function configDigest(sections: unknown): string {
  return createHash('sha256').update(canonical(sections)).digest('hex').slice(0, 16);
}
