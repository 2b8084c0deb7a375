/**
 * GroupSync: the instances of one consumer group serve as one clustering service
 * (sync.enabled). Kafka is the whole distributed engine: the consumer group spreads the input's
 * partitions, and a compacted state topic (state/state-topic.ts, messages in
 * state/group-state.ts) carries the shared state. There is no other coordinator.
 *
 * - Leader: the instance that holds partition 0 of the input topic; it moves with rebalances.
 *   It alone seeds the store, trains the network and takes lifecycle decisions (births, splits,
 *   merges, re-seeding, deaths), so a cluster id means the same cluster everywhere. Every
 *   `sync.intervalMs` it folds the other instances' deltas into its store with the store's own
 *   update rule (exact sums of sufficient statistics; store-delta.ts) and publishes the global
 *   state: store snapshot, decoder statistics, weights, and what it folded.
 * - Followers assign with the newest global state plus their own records since (their store
 *   folds its own batches without lifecycle), embed with the leader's weights and do not train.
 *   Every interval they publish the entries of their records not yet in a global state.
 * - A new or restarted instance reads the state topic to its end before it processes a record,
 *   and starts from the global state it finds instead of from scratch.
 * - Failover: when the leader leaves, partition 0 moves; its new holder becomes leader with a
 *   higher term (so the old leader's late messages lose) and continues from the newest global
 *   state plus the deltas on the topic. Records assigned by an instance that is killed after
 *   its last delta was published (at most one interval) are assigned and written, but their
 *   statistics are not in the shared store.
 *
 * One network (sync.network): `leader` (the default) trains on the leader alone, which publishes
 * its weights with the state and the others embed with them; `average` trains every instance on
 * its own records, and each round the leader replaces its weights with the average of the
 * latest weights of every instance, weighted by the records each trained on since it last took
 * the average (federated averaging, model/weight-average.ts), and publishes that.
 */
import { OnlineKMeans } from '../cluster/online-k-means.js';
import {
  addStats,
  deltaFromJson,
  deltaToJson,
  emptyDelta,
  statsFor,
  type StoreDelta,
} from '../cluster/store-delta.js';
import type { Config } from '../config/schema.js';
import type { DecoderStatistics } from '../decode/json-decoder.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { modelStateFromJson, modelStateToJson, type ModelState } from '../model/model-state.js';
import { averageWeights } from '../model/weight-average.js';
import {
  DELTA_KEY_PREFIX,
  GLOBAL_KEY,
  GROUP_STATE_FORMAT,
  GROUP_STATE_FORMAT_VERSION,
  decodeGroupMessage,
  encodeGroupMessage,
  newer,
  type DeltaMessage,
  type GlobalState,
} from '../state/group-state.js';
import { StateTopic, type StateMessage } from '../state/state-topic.js';

/** What the sync needs from the batch processor. */
export interface SyncHost {
  readonly store: OnlineKMeans;
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  decoderStatistics(): DecoderStatistics;
  modelWeights(): Promise<ModelState | undefined>;
  adoptShared(
    store: OnlineKMeans,
    decoder: DecoderStatistics,
    model: ModelState | undefined,
  ): Promise<void>;
  setLeader(leader: boolean): void;
  /**
   * The training steps `records` of other instances buy (training.replayRatio each), on this
   * instance's replay memory: the leader trains for the whole group (sync.network: leader).
   */
  trainForGroup(records: number): Promise<void>;
  /** Records drawn by this instance's training steps so far (its vote in an average). */
  trainedRecords(): number;
  /** Replaces the network's weights (the group's average, sync.network: average). */
  setModel(state: ModelState): Promise<void>;
  /** Seeds the store from the waiting warm-up sample, if records wait (a new leader). */
  startStoreIfWaiting(why: string): Promise<void>;
}

export interface GroupSyncStatus {
  instance: string;
  leader: boolean;
  term: number;
  /** Epoch of the global state served from; null before the first. */
  epoch: number | null;
  servedFrom: string | null;
  instances: string[];
  pendingRecords: number;
  lagVersions: number;
  lastRoundMs: number | null;
  publishedBytes: { global: number; delta: number };
}

export interface GroupSyncDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** This process's name on the state topic: unique within the group. */
  instance: string;
  /** The settings the state depends on; a state written with others is refused. */
  configDigest: string;
}

export class GroupSync {
  private readonly deps: GroupSyncDeps;
  private host: SyncHost | undefined;
  private topic: StateTopic | undefined;
  private leader = false;
  private term = 0;
  private maxTerm = 0;
  private epoch = 0;
  /** The global state this instance serves from (its own last one, as leader). */
  private served: GlobalState | undefined;
  /** The newest global state read, served from or not. */
  private newest: GlobalState | undefined;
  /** This instance's records since the last round, and the rounds' entries not yet folded. */
  private current: StoreDelta | undefined;
  private pending: { seq: number; delta: StoreDelta }[] = [];
  private seq = 0;
  /** As leader: per instance, the last entry folded into the store. */
  private folded: Record<string, number> = {};
  /** The latest delta message of every other instance. */
  private readonly deltas = new Map<string, DeltaMessage>();
  private readonly heard = new Map<string, number>();
  private publishedStoreVersion = -1;
  private publishedModelVersion = -1;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private lastRoundMs: number | null = null;
  private readonly bytes = { global: 0, delta: 0 };
  private refusedDigest = false;
  /** sync.network average: records trained when this instance last took (or made) an average. */
  private trainedAtAverage = 0;
  private votesSent = 0;
  /** As leader: the vote round of each instance's weights last averaged in. */
  private readonly votesUsed = new Map<string, number>();
  private closed = false;

  constructor(deps: GroupSyncDeps) {
    this.deps = deps;
  }

  get instance(): string {
    return this.deps.instance;
  }

  /** Whether this instance may seed the store itself: only as the group's leader. */
  mayStartStore(): boolean {
    return this.leader;
  }

  /**
   * Opens the state topic and reads it to its end; serves from the global state found there.
   * Call before the first record is processed.
   */
  async start(host: SyncHost): Promise<void> {
    this.host = host;
    const { config, logger } = this.deps;
    host.setLeader(false);
    this.topic = await StateTopic.open(config.kafka, logger, {
      topic: stateTopicName(config),
      maxMessageBytes: config.sync.maxMessageBytes,
      createTopic: config.kafka.createTopics,
      onMessage: (m) => this.onMessage(m),
    });
    await this.topic.caughtUp();
    const found = this.newest;
    if (found !== undefined) await this.adopt(found);
    logger.info('group sync started', {
      instance: this.instance,
      stateTopic: this.topic.topic,
      found:
        found === undefined
          ? 'no shared state yet'
          : `global state term ${found.term} epoch ${found.epoch} from ${found.leader} (${found.records} records)`,
    });
    this.timer = setInterval(() => void this.runRound(), config.sync.intervalMs);
    this.timer.unref();
  }

  /** The input partitions this instance holds now (null while the group rebalances). */
  onAssignment(partitions: readonly number[] | null): void {
    if (partitions !== null)
      this.deps.logger.info('holding input partitions', { partitions: partitions.join(',') });
    const leads = partitions !== null && partitions.includes(0);
    if (leads === this.leader) return;
    if (leads) this.becomeLeader('it holds partition 0 of the input topic');
    else this.stepDown('partition 0 of the input topic moved to another instance');
  }

  status(): GroupSyncStatus {
    return {
      instance: this.instance,
      leader: this.leader,
      term: this.leader ? this.term : (this.served?.term ?? 0),
      epoch: this.served?.epoch ?? null,
      servedFrom: this.served?.leader ?? null,
      instances: this.instances(),
      pendingRecords: this.pendingRecords(),
      lagVersions: this.lagVersions(),
      lastRoundMs: this.lastRoundMs,
      publishedBytes: { ...this.bytes },
    };
  }

  /** One last round (what this instance's records added is published), then closes the topic. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.closed) return;
    while (this.round !== undefined) await this.round;
    await this.runRound().catch(() => undefined);
    this.closed = true;
    await this.topic?.close();
  }

  /** One sync round now (the timer's; tests and shutdown call it too). */
  runRound(): Promise<void> {
    if (this.round !== undefined || this.closed || this.host === undefined)
      return this.round ?? Promise.resolve();
    const host = this.host;
    const role = this.leader ? 'leader' : 'follower';
    const timer = this.deps.metrics.syncRoundDuration.startTimer({ role });
    const started = performance.now();
    this.round = (this.leader ? this.leaderRound(host) : this.followerRound())
      .catch((error: unknown) => {
        if (/too large/i.test(String(error)))
          this.deps.logger.error(
            "the state topic refused a message as too large; the group state is not shared until it fits. Fix: raise sync.maxMessageBytes and the state topic's max.message.bytes (kafka-configs --alter), or use a smaller network",
            { role, topic: stateTopicName(this.deps.config), error: String(error) },
          );
        else
          this.deps.logger.warn('a sync round failed; the next one retries', {
            role,
            error: String(error),
          });
      })
      .finally(() => {
        timer();
        this.lastRoundMs = performance.now() - started;
        this.round = undefined;
        this.updateMetrics();
      });
    return this.round;
  }

  private async leaderRound(host: SyncHost): Promise<void> {
    const term = this.term;
    const prepared = await host.exclusive(async () => {
      const store = host.store;
      if (!store.ready || !this.leader || this.term !== term) return undefined;
      const others = this.foldOthers(store);
      // With one trainer, the group's records buy its training steps, as one process's would.
      if (others > 0 && this.deps.config.sync.network === 'leader')
        await host.trainForGroup(others);
      this.closeEntry();
      const last = this.pending.at(-1)?.seq;
      if (last !== undefined) this.folded[this.instance] = last;
      if (store.statsListener === undefined) this.listen(store);
      const snapshot = store.snapshot();
      return {
        store: snapshot,
        storeVersion: store.version,
        records: snapshot.state.records,
        decoder: host.decoderStatistics(),
      };
    });
    if (prepared === undefined) return;
    const model = await this.groupModel(host);
    const modelVersion = model?.version ?? 0;
    if (
      prepared.storeVersion === this.publishedStoreVersion &&
      modelVersion === this.publishedModelVersion &&
      this.served?.term === term
    )
      return;
    const state: GlobalState = {
      kind: 'global',
      format: GROUP_STATE_FORMAT,
      formatVersion: GROUP_STATE_FORMAT_VERSION,
      configDigest: this.deps.configDigest,
      term,
      epoch: this.epoch + 1,
      leader: this.instance,
      publishedAtMs: Date.now(),
      store: prepared.store,
      decoder: prepared.decoder,
      model: model === undefined ? null : modelStateToJson(model),
      folded: { ...this.folded },
      records: prepared.records,
    };
    const value = encodeGroupMessage(state);
    await this.topic!.publish(GLOBAL_KEY, value);
    this.epoch = state.epoch;
    this.bytes.global += value.length;
    this.deps.metrics.syncPublishedBytes.inc({ kind: 'global' }, value.length);
    this.publishedStoreVersion = prepared.storeVersion;
    this.publishedModelVersion = modelVersion;
    this.served = state;
    if (newer(state, this.newest)) this.newest = state;
    const mine = state.folded[this.instance] ?? 0;
    this.pending = this.pending.filter((e) => e.seq > mine);
  }

  /**
   * The weights to publish: the leader's own, or with sync.network average the average of its
   * own and the votes of the instances that trained since their last one was counted, which
   * the leader then takes itself.
   */
  private async groupModel(host: SyncHost): Promise<ModelState | undefined> {
    const own = await host.modelWeights();
    if (own === undefined || this.deps.config.sync.network !== 'average') return own;
    const trained = host.trainedRecords();
    const votes = [{ state: own, weight: trained - this.trainedAtAverage }];
    for (const [instance, message] of this.deltas) {
      const vote = message.model;
      if (vote === undefined || vote.trainedRecords <= 0) continue;
      if ((this.votesUsed.get(instance) ?? 0) >= vote.round) continue;
      votes.push({ state: modelStateFromJson(vote.weights), weight: vote.trainedRecords });
      this.votesUsed.set(instance, vote.round);
    }
    if (votes.length === 1) return own;
    const average = averageWeights(votes);
    await host.setModel(average);
    this.trainedAtAverage = host.trainedRecords();
    return average;
  }

  private async followerRound(): Promise<void> {
    const added = this.closeEntry();
    const vote = await this.vote();
    if ((!added || this.pending.length === 0) && vote === undefined) return;
    const message: DeltaMessage = {
      kind: 'delta',
      format: GROUP_STATE_FORMAT,
      formatVersion: GROUP_STATE_FORMAT_VERSION,
      instance: this.instance,
      sentAtMs: Date.now(),
      entries: this.pending.map((e) => ({ seq: e.seq, delta: deltaToJson(e.delta) })),
      ...(vote === undefined ? {} : { model: vote }),
    };
    const value = encodeGroupMessage(message);
    await this.topic!.publish(DELTA_KEY_PREFIX + this.instance, value);
    this.bytes.delta += value.length;
    this.deps.metrics.syncPublishedBytes.inc({ kind: 'delta' }, value.length);
  }

  /** sync.network average: this replica's weights, when it trained since it took the average. */
  private async vote(): Promise<DeltaMessage['model']> {
    const host = this.host;
    if (host === undefined || this.deps.config.sync.network !== 'average') return undefined;
    const trainedRecords = host.trainedRecords() - this.trainedAtAverage;
    if (trainedRecords <= 0) return undefined;
    const weights = await host.modelWeights();
    if (weights === undefined) return undefined;
    this.votesSent += 1;
    return { weights: modelStateToJson(weights), trainedRecords, round: this.votesSent };
  }

  /** Turns the records since the last round into a numbered entry; false when there were none. */
  private closeEntry(): boolean {
    const current = this.current;
    if (current === undefined || current.records === 0) return false;
    this.seq += 1;
    this.pending.push({ seq: this.seq, delta: current });
    this.current = emptyDelta(current.dim);
    return true;
  }

  /** As leader: the other instances' entries it has not folded yet, into `store`. */
  /** Returns the number of records folded in. */
  private foldOthers(store: OnlineKMeans): number {
    const listener = store.statsListener;
    store.statsListener = undefined;
    let records = 0;
    try {
      for (const [instance, message] of this.deltas) {
        const done = this.folded[instance] ?? 0;
        for (const entry of message.entries) {
          if (entry.seq <= done) continue;
          const { stats, droppedWeight } = statsFor(deltaFromJson(entry.delta), store.statsBase());
          if (droppedWeight > 0)
            this.deps.logger.debug('folded a delta naming clusters that no longer exist', {
              instance,
              droppedWeight,
            });
          store.merge(stats);
          records += stats.records;
          this.folded[instance] = entry.seq;
        }
      }
    } finally {
      store.statsListener = listener;
    }
    return records;
  }

  private onMessage(message: StateMessage): void {
    if (message.value === null) return;
    let decoded;
    try {
      decoded = decodeGroupMessage(message.value);
    } catch (error) {
      this.deps.logger.warn('skipped a message on the state topic that is not group state', {
        key: message.key,
        offset: message.offset,
        error: String(error),
      });
      return;
    }
    if (decoded.kind === 'delta') {
      if (decoded.instance === this.instance) return;
      this.deltas.set(decoded.instance, decoded);
      this.heard.set(decoded.instance, Date.now());
      return;
    }
    const state = decoded;
    if (state.configDigest !== this.deps.configDigest) {
      if (!this.refusedDigest)
        this.deps.logger.error(
          'the state topic holds state written with other model, decode or cluster settings; ignoring it. Fix: give every instance of the group the same settings, or point sync.stateTopic elsewhere',
          { leader: state.leader, topic: stateTopicName(this.deps.config) },
        );
      this.refusedDigest = true;
      return;
    }
    this.heard.set(state.leader, Date.now());
    this.maxTerm = Math.max(this.maxTerm, state.term);
    if (state.leader === this.instance) return;
    if (newer(state, this.newest)) this.newest = state;
    if (this.leader) {
      if (state.term < this.term || (state.term === this.term && state.leader < this.instance))
        return;
      this.stepDown(`${state.leader} leads the group with a newer term (${state.term})`);
    }
    // Before start() finished reading the topic, the newest state is adopted once at its end.
    if (this.host === undefined || this.timer === undefined) return;
    if (newer(state, this.served))
      void this.adopt(state).catch((error: unknown) => this.adoptFailed(error));
  }

  private adoptFailed(error: unknown): void {
    this.deps.logger.error("could not serve from the group leader's state", {
      error: String(error),
    });
  }

  /** Serves from `state` plus this instance's records it does not hold yet. */
  private async adopt(state: GlobalState): Promise<void> {
    const host = this.host!;
    await host.exclusive(async () => {
      if (this.leader || !newer(state, this.served)) return;
      if (this.newest !== undefined && newer(this.newest, state)) return;
      const store = OnlineKMeans.restore(state.store);
      store.followsLeader = true;
      store.clearPendingEvents();
      const mine = state.folded[this.instance] ?? 0;
      this.pending = this.pending.filter((e) => e.seq > mine);
      for (const { delta } of this.pending)
        store.applyStats(statsFor(delta, store.statsBase()).stats);
      if (this.current !== undefined && this.current.records > 0)
        store.applyStats(statsFor(this.current, store.statsBase()).stats);
      this.listen(store);
      this.served = state;
      this.trainedAtAverage = host.trainedRecords();
      await host.adoptShared(
        store,
        state.decoder,
        state.model === null ? undefined : modelStateFromJson(state.model),
      );
    });
    this.updateMetrics();
  }

  /** Records every batch this store folds as this instance's contribution. */
  private listen(store: OnlineKMeans): void {
    this.current ??= emptyDelta(store.dim);
    if (this.current.dim !== store.dim) this.current = emptyDelta(store.dim);
    const current = (): StoreDelta => this.current!;
    store.statsListener = (stats) => addStats(current(), stats);
  }

  private becomeLeader(why: string): void {
    this.leader = true;
    this.term = Math.max(this.maxTerm, this.served?.term ?? 0) + 1;
    this.maxTerm = this.term;
    this.epoch = 0;
    this.folded = { ...(this.served?.folded ?? {}) };
    this.publishedStoreVersion = -1;
    this.deps.logger.info('this instance leads the group now', { why, term: this.term });
    const host = this.host;
    if (host === undefined) return;
    void host
      .exclusive(async () => {
        host.setLeader(true);
        this.listen(host.store);
      })
      .then(() => host.startStoreIfWaiting('this instance became the group leader'))
      .catch((error: unknown) => this.adoptFailed(error));
    this.updateMetrics();
  }

  private stepDown(why: string): void {
    this.leader = false;
    this.deps.logger.info('this instance follows the group leader now', { why });
    const host = this.host;
    if (host !== undefined) {
      void host
        .exclusive(async () => host.setLeader(false))
        .then(async () => {
          const newest = this.newest;
          if (newest !== undefined && newer(newest, this.served)) await this.adopt(newest);
        })
        .catch((error: unknown) => this.adoptFailed(error));
    }
    this.updateMetrics();
  }

  private instances(): string[] {
    const since = Date.now() - 3 * this.deps.config.sync.intervalMs;
    const names = [...this.heard].filter(([, at]) => at >= since).map(([name]) => name);
    return [...new Set([this.instance, ...names])].sort();
  }

  private pendingRecords(): number {
    return this.pending.reduce((n, e) => n + e.delta.records, 0) + (this.current?.records ?? 0);
  }

  private lagVersions(): number {
    const newest = this.newest;
    const served = this.served;
    if (newest === undefined) return 0;
    if (served === undefined) return newest.epoch;
    return newest.term === served.term ? Math.max(0, newest.epoch - served.epoch) : 1;
  }

  private updateMetrics(): void {
    const m = this.deps.metrics;
    m.syncLeader.set(this.leader ? 1 : 0);
    m.syncInstances.set(this.instances().length);
    m.syncGlobalEpoch.set(this.newest?.epoch ?? 0);
    m.syncLagVersions.set(this.lagVersions());
    m.syncLagSeconds.set(
      this.served === undefined ? 0 : (Date.now() - this.served.publishedAtMs) / 1000,
    );
    m.syncPendingRecords.set(this.pendingRecords());
  }
}

/** The state topic of the configured group: sync.stateTopic, or `<kafka.groupId>.state`. */
export function stateTopicName(config: Config): string {
  return config.sync.stateTopic === '' ? `${config.kafka.groupId}.state` : config.sync.stateTopic;
}
