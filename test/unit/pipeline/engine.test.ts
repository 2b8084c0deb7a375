import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it, vi } from 'vitest';

import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';
import { validateConfig } from '../../../src/config/load-config.js';
import { JsonDecoder } from '../../../src/decode/json-decoder.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { modelStateFromJson } from '../../../src/model/model-state.js';
import { TrainerPool } from '../../../src/model/trainer-pool.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { readCheckpoint } from '../../../src/state/checkpoint.js';
import type { Assignment, Sink } from '../../../src/sinks/sink.js';
import { DriftingMixture } from '../../../src/sources/drifting-mixture.js';
import { runCli } from '../../helpers/cli-process.js';
import { PLUMBING_TRAINING } from '../../helpers/plumbing.js';

function quiet(overrides: Record<string, unknown>) {
  return validateConfig({
    http: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
    ...overrides,
    training: { ...PLUMBING_TRAINING, ...(overrides.training as object | undefined) },
  });
}

function collectingSink(delayMs = 0): Sink & { assignments: Assignment[] } {
  const assignments: Assignment[] = [];
  return {
    assignments,
    write: async (output) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      assignments.push(...output.assignments);
    },
    close: async () => undefined,
  };
}

describe('the trainer engine inside the pipeline', () => {
  it('replaces a worker killed mid-stream and still assigns every record once', async () => {
    const sink = collectingSink();
    let batches = 0;
    let killed = false;
    const pipeline = await createPipeline(
      quiet({
        synthetic: { totalRecords: 6000, recordsPerSecond: 0 },
        model: { workers: 2 },
        cluster: { k: 5 },
      }),
      {
        logger: silentLogger,
        sink,
        metrics: new Metrics({ defaultMetrics: false }),
        observers: [
          {
            onBatch: () => {
              batches += 1;
              if (batches === 6 && !killed) {
                killed = true;
                void pipeline.trainer!.threads[0]!.terminate();
              }
            },
          },
        ],
      },
    );
    await pipeline.run();
    expect(killed).toBe(true);
    expect(pipeline.status().workerRestarts).toBeGreaterThanOrEqual(1);
    const offsets = new Set(sink.assignments.map((a) => a.record.offset));
    expect(offsets.size).toBe(6000);
    expect(sink.assignments).toHaveLength(6000);
  });

  it('trains the autoencoder alone during training.warmupBatches, then every loss', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    // The loss parts each training step reports, step by step (the spies call through).
    const steps: string[][] = [];
    const inc = metrics.trainingSteps.inc.bind(metrics.trainingSteps);
    vi.spyOn(metrics.trainingSteps, 'inc').mockImplementation((...args) => {
      steps.push([]);
      inc(...args);
    });
    const set = metrics.loss.set.bind(metrics.loss);
    vi.spyOn(metrics.loss, 'set').mockImplementation(((labels: { part: string }, value: number) => {
      steps.at(-1)?.push(labels.part);
      set(labels, value);
    }) as typeof metrics.loss.set);
    const pipeline = await createPipeline(
      quiet({
        synthetic: { totalRecords: 2000, recordsPerSecond: 0 },
        training: { warmupBatches: 3, pretrain: { epochs: 2 } },
        cluster: { k: 5, warmupSize: 500 },
      }),
      { logger: silentLogger, sink: collectingSink(), metrics },
    );
    await pipeline.run();
    // Pretraining (2 epochs of 500 warm-up records, 256 anchors: 4 steps) starts with the three
    // warm-up steps; the replay steps after each batch train the configured objective.
    expect(steps.slice(0, 3)).toEqual([
      ['reconstruction', 'total'],
      ['reconstruction', 'total'],
      ['reconstruction', 'total'],
    ]);
    expect(steps.length).toBeGreaterThan(4);
    expect(steps.at(-1)).toEqual(['ntXent', 'total']);
  });

  it('without a network (model.kind: none) clusters the input, checkpoints the store and resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-no-network-'));
    const config = (totalRecords: number, resume: boolean) =>
      quiet({
        synthetic: { totalRecords, recordsPerSecond: 0 },
        model: { kind: 'none' },
        cluster: { k: 5, warmupSize: 500 },
        checkpoint: { dir, resume },
      });
    const first = await createPipeline(config(1500, false), {
      logger: silentLogger,
      sink: collectingSink(),
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await first.run();
    expect(first.status().backend).toBeUndefined();
    const saved = await readCheckpoint(dir);
    // The store lives in input space (8 synthetic features), and the model part is empty.
    expect(saved.store.options.dim).toBe(8);
    expect(saved.model.variables.entries).toEqual([]);
    expect(saved.memory).toBeUndefined();
    const sink = collectingSink();
    const resumed = await createPipeline(config(2000, true), {
      logger: silentLogger,
      sink,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await resumed.run();
    expect(sink.assignments.length).toBe(500);
    expect(new Set(sink.assignments.map((a) => a.clusterId)).size).toBeGreaterThan(1);
  });

  it('with cluster.frozen and training off, assigns without moving the model or the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-frozen-'));
    const trainRun = await createPipeline(
      quiet({
        synthetic: { totalRecords: 2000, recordsPerSecond: 0 },
        cluster: { k: 5 },
        checkpoint: { dir },
      }),
      {
        logger: silentLogger,
        sink: collectingSink(),
        metrics: new Metrics({ defaultMetrics: false }),
      },
    );
    await trainRun.run();
    const before = await readCheckpoint(dir);
    const sink = collectingSink();
    const frozen = await createPipeline(
      quiet({
        // Resuming skips the 2,000 records the checkpoint covers: these are records 2,000 to 2,999.
        synthetic: { totalRecords: 3000, recordsPerSecond: 0 },
        cluster: { k: 5, frozen: true },
        training: { mode: 'off' },
        checkpoint: { dir, resume: true, everyBatches: 0, everySeconds: 0, onShutdown: false },
      }),
      { logger: silentLogger, sink, metrics: new Metrics({ defaultMetrics: false }) },
    );
    await frozen.run();
    expect(sink.assignments).toHaveLength(1000);
    expect(frozen.status().storeVersion).toBe(before.store.state.version);
    expect(frozen.status().modelVersion).toBe(before.model.version);
    expect(new Set(sink.assignments.map((a) => a.storeVersion))).toEqual(
      new Set([before.store.state.version]),
    );
  });

  it('never holds more records than the source may have in flight while a slow sink holds it back', async () => {
    const sink = collectingSink(20);
    const pipeline = await createPipeline(
      quiet({
        synthetic: { totalRecords: 3000, recordsPerSecond: 0, chunkSize: 100 },
        batch: { size: 100, maxInFlight: 3 },
        cluster: { k: 5, warmupSize: 200, reservoirSize: 200 },
      }),
      { logger: silentLogger, sink, metrics: new Metrics({ defaultMetrics: false }) },
    );
    let peak = 0;
    const sampler = setInterval(
      () => (peak = Math.max(peak, pipeline.status().recordsInFlight)),
      2,
    );
    await pipeline.run();
    clearInterval(sampler);
    expect(sink.assignments).toHaveLength(3000);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(3 * 100);
  });

  /** 1,500 records in batches of 100, the store starting after the first two. */
  const BATCHES_OF_100 = {
    synthetic: { totalRecords: 1500, recordsPerSecond: 0, chunkSize: 100 },
    batch: { size: 100, maxInFlight: 4 },
    cluster: { k: 5, warmupSize: 200, reservoirSize: 200 },
  };

  it('decodes and embeds the next batch while the previous one is written, and writes in order', async () => {
    const written: number[] = [];
    let held = false;
    /** Records decoded beyond the end of the batch being written, while its write was held. */
    let ahead = 0;
    const metrics = new Metrics({ defaultMetrics: false });
    const decoded = async () => (await metrics.recordsDecoded.get()).values[0]?.value ?? 0;
    const sink: Sink = {
      write: async (output) => {
        const offsets = output.assignments.map((a) => Number(a.record.offset));
        written.push(...offsets);
        // Hold one write after the store started until the next batch is decoded (or 5 s).
        if (!held && offsets.length > 0 && offsets[0]! >= 600) {
          held = true;
          const end = offsets[0]! + offsets.length;
          const until = Date.now() + 5_000;
          while (Date.now() < until) {
            ahead = (await decoded()) - end;
            if (ahead >= 100) break;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
      },
      close: async () => undefined,
    };
    const pipeline = await createPipeline(quiet(BATCHES_OF_100), {
      logger: silentLogger,
      sink,
      metrics,
    });
    await pipeline.run();
    // While that write was held, the following batch (100 records) had been decoded and embedded.
    expect(held).toBe(true);
    expect(ahead).toBe(100);
    // Outputs are still handed to the sink in input order, each record once.
    expect(written).toEqual(Array.from({ length: 1500 }, (_, i) => i));
  });

  it('assigns the next batch while the previous one awaits its acknowledgement; writes one at a time, settled in order', async () => {
    const calls: number[] = [];
    const acknowledged: number[] = [];
    const settled: number[] = [];
    let held: number | undefined;
    let overlapped = false;
    let inFlight = 0;
    let mostInFlight = 0;
    const sink: Sink = {
      write: async (output) => {
        const first = Number(output.assignments[0]?.record.offset ?? -1);
        calls.push(first);
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        // Hold one acknowledgement after the store started until the next batch is assigned
        // (the store's version moves on).
        if (held === undefined && first >= 600) {
          held = first;
          const version = pipeline.status().storeVersion;
          const until = Date.now() + 5_000;
          while (Date.now() < until && !overlapped) {
            overlapped = pipeline.status().storeVersion > version;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
        acknowledged.push(first);
        inFlight -= 1;
      },
      close: async () => undefined,
    };
    const pipeline = await createPipeline(quiet(BATCHES_OF_100), {
      logger: silentLogger,
      sink,
      metrics: new Metrics({ defaultMetrics: false }),
      observers: [{ onBatch: (report) => settled.push(Number(report.records[0]!.offset)) }],
    });
    await pipeline.run();
    expect(held).toBeDefined();
    // The batch after the held one was assigned before the held write was acknowledged…
    expect(overlapped).toBe(true);
    // …but its write waited: the sink sees one write at a time, in input order (an idempotent
    // producer's retry must not find its sequence numbers taken by a later write).
    expect(mostInFlight).toBe(1);
    expect(acknowledged).toEqual(calls);
    expect(calls).toEqual([...calls].sort((a, b) => a - b));
    // The batches settle (and their offsets commit) in input order, each once.
    expect(settled).toEqual([...settled].sort((a, b) => a - b));
    expect(new Set(settled).size).toBe(settled.length);
    expect(pipeline.status().recordsAssigned).toBe(1500);
  });

  // auto is the native backend where `npm run setup:native` built it (CI); wasm is the fallback.
  it.each(['auto', 'wasm'] as const)(
    'a checkpoint restored in new processes reproduces the same embeddings and assignments (model.backend=%s)',
    async (backend) => {
      const dir = mkdtempSync(join(tmpdir(), 'streamclust-checkpoint-'));
      const checkpointDir = join(dir, 'checkpoint');
      const trainingRun = await createPipeline(
        quiet({
          synthetic: { totalRecords: 3000, recordsPerSecond: 0 },
          cluster: { k: 5 },
          checkpoint: { dir: checkpointDir },
          model: { backend },
        }),
        {
          logger: silentLogger,
          sink: collectingSink(),
          metrics: new Metrics({ defaultMetrics: false }),
        },
      );
      await trainingRun.run();
      console.log(
        `[engine] checkpoint test, model.backend=${backend}: trained on ${trainingRun.status().backend}`,
      );
      expect(existsSync(join(checkpointDir, 'checkpoint.json'))).toBe(true);
      const checkpoint = await readCheckpoint(checkpointDir);
      expect(checkpoint.offsets).toEqual([{ topic: 'synthetic', partition: 0, offset: '3000' }]);
      expect(checkpoint.model.version).toBeGreaterThan(0);

      // New input the model never saw, as a JSONL file.
      const probe = new DriftingMixture({
        seed: 99,
        dim: 8,
        clusters: 5,
        spread: 0.6,
        separation: 6,
        driftEveryRecords: 0,
      });
      const rows = Array.from({ length: 300 }, () => probe.next());
      const probeFile = join(dir, 'probe.jsonl');
      writeFileSync(
        probeFile,
        rows.map((p) => JSON.stringify({ features: p.features })).join('\n') + '\n',
      );

      const resumeIn = async (name: string): Promise<{ clusterId: number; distance: number }[]> => {
        const copy = join(dir, name);
        cpSync(checkpointDir, copy, { recursive: true });
        const out = join(dir, `${name}.jsonl`);
        const { code, stderr } = await runCli([
          'run',
          '--source',
          'file',
          '--file',
          probeFile,
          '--resume',
          '--checkpoint-dir',
          copy,
          '--assignments',
          'file',
          '--set',
          `sinks.assignmentsFile=${out}`,
          '--set',
          'training.mode=off',
          '--set',
          'checkpoint.onShutdown=false',
          '--set',
          'cluster.k=5',
          '--batch-size',
          '100',
          '--set',
          'file.chunkSize=100',
          '--port',
          '0',
          '--backend',
          backend,
          '--log-level',
          'warn',
        ]);
        expect(code, stderr).toBe(0);
        return readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { clusterId: number; distance: number });
      };
      const [first, second] = [await resumeIn('a'), await resumeIn('b')];
      expect(first).toHaveLength(300);
      expect(second.map((a) => [a.clusterId, a.distance])).toEqual(
        first.map((a) => [a.clusterId, a.distance]),
      );

      // The same computation in this process: embeddings from the checkpoint's weights, assigned
      // by the checkpoint's store, batch by batch as the pipeline does.
      const { pool } = await TrainerPool.start({
        backend,
        model: { ...quiet({}).model, inputDim: 8 },
        losses: quiet({}).losses,
        workers: 1,
        state: modelStateFromJson(checkpoint.model),
      });
      const store = OnlineKMeans.restore(checkpoint.store);
      // Features are standardised with the running statistics the checkpoint carries on.
      const decoder = new JsonDecoder(quiet({}).decode);
      decoder.restore(checkpoint.decoder);
      const expected: [number, number][] = [];
      for (let b = 0; b < 3; b++) {
        const features = new Float32Array(100 * 8);
        rows.slice(b * 100, (b + 1) * 100).forEach((p, i) => {
          const decoded = decoder.decode(Buffer.from(JSON.stringify({ features: p.features })));
          if (!decoded.ok) throw new Error(decoded.message);
          features.set(decoded.features, i * 8);
        });
        const { embeddings } = await pool.step({
          features,
          rows: 100,
          train: false,
          phase: 'full',
          seed: b,
        });
        const { clusterIds, distances } = store.update(embeddings);
        clusterIds.forEach((id, i) => expected.push([id, distances[i]!]));
      }
      await pool.close();
      expect(first.map((a) => [a.clusterId, a.distance])).toEqual(expected);
    },
  );
});
