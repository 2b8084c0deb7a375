/**
 * Decides when to checkpoint, remembers which source offsets the pipeline's state covers, and
 * writes the checkpoint with them (the file itself: checkpoint.ts).
 *
 * `settled` is called with every record once it is in the state (assigned, or dead-lettered),
 * in processing order; the offsets kept are the next offset to read per (topic, partition).
 * The batch processor asks `due()` between batches, when no batch is half done, so a checkpoint
 * never splits a batch between "in the state" and "not yet".
 */
import type { Config } from '../config/schema.js';
import {
  configDigest,
  writeCheckpoint,
  type CheckpointBody,
  type SourceOffset,
} from './checkpoint.js';
import type { SourceRecord } from '../sources/source.js';

export class Checkpointer {
  private readonly options: Config['checkpoint'];
  private readonly next = new Map<string, SourceOffset>();
  private batchesSince = 0;
  private lastAt = Date.now();
  /** Wall-clock milliseconds of the last checkpoint written (or resumed from). */
  lastWrittenAt: number | undefined;

  constructor(options: Config['checkpoint']) {
    this.options = options;
  }

  get enabled(): boolean {
    return this.options.dir !== '';
  }

  /** Continue from a checkpoint's offsets. */
  resumeFrom(offsets: readonly SourceOffset[], writtenAt: number): void {
    for (const o of offsets) this.next.set(`${o.topic}\u0000${o.partition}`, { ...o });
    this.lastWrittenAt = writtenAt;
  }

  settled(records: readonly SourceRecord[]): void {
    // Without checkpoints no offset is ever written: skip the per-record work.
    if (!this.enabled) return;
    // The highest offset of each partition in this call first (offsets are decimal strings of
    // non-negative integers: the longer one is larger, then the lexically larger), and only then
    // one BigInt per partition: this runs for every record on the main thread.
    const highest = new Map<string, SourceRecord>();
    for (const r of records) {
      const key = `${r.topic}\u0000${r.partition}`;
      const known = highest.get(key);
      if (known === undefined || offsetBelow(known.offset, r.offset)) highest.set(key, r);
    }
    for (const [key, r] of highest) {
      const following = (BigInt(r.offset) + 1n).toString();
      const known = this.next.get(key);
      if (known === undefined || offsetBelow(known.offset, following)) {
        this.next.set(key, { topic: r.topic, partition: r.partition, offset: following });
      }
    }
  }

  batchDone(): void {
    this.batchesSince += 1;
  }

  due(): boolean {
    if (!this.enabled) return false;
    const { everyBatches, everySeconds } = this.options;
    if (everyBatches > 0 && this.batchesSince >= everyBatches) return true;
    return (
      everySeconds > 0 && this.batchesSince > 0 && Date.now() - this.lastAt >= everySeconds * 1000
    );
  }

  /**
   * Writes the pipeline's state with the offsets it covers and the settings it depends on, and
   * starts counting towards the next checkpoint. Returns the file's path.
   */
  async write(
    config: Config,
    state: Omit<CheckpointBody, 'writtenAt' | 'configDigest' | 'stateSettings' | 'offsets'>,
  ): Promise<string> {
    const path = await writeCheckpoint(this.options.dir, {
      writtenAt: new Date().toISOString(),
      configDigest: stateDigest(config),
      stateSettings: stateSettings(config),
      ...state,
      offsets: this.offsets(),
    });
    this.batchesSince = 0;
    this.lastAt = Date.now();
    this.lastWrittenAt = this.lastAt;
    return path;
  }

  offsets(): SourceOffset[] {
    return [...this.next.values()].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
  }
}

/**
 * The configuration a checkpoint's state depends on, as the keys a user sets: resuming (or a
 * frozen evaluation) under other values is refused, naming each key that differs.
 */
export function stateSettings(config: Config): Record<string, unknown> {
  const { hiddenLayers, embeddingDim, activation, optimizer } = config.model;
  return {
    'model.hiddenLayers': hiddenLayers,
    'model.embeddingDim': embeddingDim,
    'model.activation': activation,
    'model.optimizer': optimizer,
    'decode.vectorField': config.decode.vectorField,
    'decode.fields': config.decode.fields,
    'decode.standardize': config.decode.standardize,
    'cluster.k': config.cluster.k,
    'cluster.distance': config.cluster.distance,
    'losses.normalize': config.losses.normalize,
    'losses.reconstruction.weight > 0': config.losses.reconstruction.weight > 0,
  };
}

/** The digest of those settings, in the form checkpoints have always carried. */
export function stateDigest(config: Config): string {
  const { hiddenLayers, embeddingDim, activation, optimizer } = config.model;
  return configDigest({
    model: { hiddenLayers, embeddingDim, activation, optimizer },
    decode: {
      vectorField: config.decode.vectorField,
      fields: config.decode.fields,
      standardize: config.decode.standardize,
    },
    cluster: { k: config.cluster.k, distance: config.cluster.distance },
    losses: {
      normalize: config.losses.normalize,
      reconstruction: config.losses.reconstruction.weight > 0,
    },
  });
}

/** "cluster.k: 3 in the checkpoint, 8 now" for every setting that differs. */
export function stateDifferences(
  written: Record<string, unknown>,
  now: Record<string, unknown>,
): string[] {
  return Object.keys(now)
    .filter((key) => JSON.stringify(written[key]) !== JSON.stringify(now[key]))
    .map(
      (key) =>
        `${key}: ${JSON.stringify(written[key]) ?? 'absent'} in the checkpoint, ${JSON.stringify(now[key])} now`,
    );
}

/** a < b for offsets written as decimal strings without leading zeros. */
function offsetBelow(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}
