/**
 * The two kinds of message on a group's state topic (state-topic.ts), as JSON:
 *
 * - `global` (key `global`), written by the group's leader: the whole shared state (the centroid
 *   store's snapshot, the decoder's running statistics, the network's weights), the leader's
 *   `term` and a per-term `epoch`, and for each instance the last delta sequence number folded
 *   into this store. An instance serves from the newest global state it has read, ordered by
 *   (term, epoch): a leader elected later always has a higher term, so a deposed leader's late
 *   messages are ignored instead of undoing its successor's.
 * - `delta` (key `delta/<instance>`), written by every instance: the entries (one per sync
 *   round) of what its records added to the store and that the newest global state does not
 *   hold yet. Each message repeats every such entry, so compaction, which keeps only the latest
 *   message per key, never loses one; the leader folds those above the instance's `folded`
 *   number.
 */
import type { OnlineKMeansSnapshot } from '../cluster/online-k-means-snapshot.js';
import type { StoreDeltaJson } from '../cluster/store-delta.js';
import type { DecoderStatistics } from '../decode/json-decoder.js';
import type { ModelStateJson } from '../model/model-state.js';

export const GROUP_STATE_FORMAT = 'streamclust/group-state';
export const GROUP_STATE_FORMAT_VERSION = 1;
export const GLOBAL_KEY = 'global';
export const DELTA_KEY_PREFIX = 'delta/';

export interface GlobalState {
  kind: 'global';
  format: typeof GROUP_STATE_FORMAT;
  formatVersion: number;
  /** The settings the state depends on (checkpointer's stateDigest): others refuse it. */
  configDigest: string;
  term: number;
  epoch: number;
  leader: string;
  publishedAtMs: number;
  store: OnlineKMeansSnapshot;
  decoder: DecoderStatistics;
  /** The network's weights (optimiser state left out), null without a network. */
  model: ModelStateJson | null;
  /** Instance → the last delta sequence number folded into `store`. */
  folded: Record<string, number>;
  /** Records assigned by the whole group so far (folded ones). */
  records: number;
}

export interface DeltaEntry {
  seq: number;
  delta: StoreDeltaJson;
}

export interface DeltaMessage {
  kind: 'delta';
  format: typeof GROUP_STATE_FORMAT;
  formatVersion: number;
  instance: string;
  sentAtMs: number;
  entries: DeltaEntry[];
  /**
   * sync.network: average only: this replica's weights, and the records its training steps drew
   * since it last took the group's average (the weight of its vote).
   */
  model?: { weights: ModelStateJson; trainedRecords: number; round: number };
}

export type GroupMessage = GlobalState | DeltaMessage;

export function encodeGroupMessage(message: GroupMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

/** Parses a state-topic value; throws with the reason when it is not a message of this format. */
export function decodeGroupMessage(value: Buffer): GroupMessage {
  const parsed = JSON.parse(value.toString('utf8')) as Partial<GroupMessage>;
  if (parsed.format !== GROUP_STATE_FORMAT || parsed.formatVersion !== GROUP_STATE_FORMAT_VERSION) {
    throw new Error(
      `not a ${GROUP_STATE_FORMAT} v${GROUP_STATE_FORMAT_VERSION} message (format ${String(parsed.format)} v${String(parsed.formatVersion)})`,
    );
  }
  if (parsed.kind !== 'global' && parsed.kind !== 'delta')
    throw new Error(`unknown group message kind ${String(parsed.kind)}`);
  return parsed as GroupMessage;
}

/** Whether global state `a` is newer than `b` (term first, then epoch, then leader name). */
export function newer(a: GlobalState, b: GlobalState | undefined): boolean {
  if (b === undefined) return true;
  if (a.term !== b.term) return a.term > b.term;
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  return a.leader > b.leader;
}
