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
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { OnlineKMeansSnapshot } from '../cluster/online-k-means.js';
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
  await mkdir(root, { recursive: true });
  const file: CheckpointFile = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_VERSION,
    checksum: digest(body),
    ...body,
  };
  const target = join(root, FILE);
  const temporary = join(root, `.${FILE}.${process.pid}.tmp`);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(file));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return target;
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
  return parsed;
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
