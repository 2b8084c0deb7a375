/**
 * One run of the throughput benchmark (bench/throughput.ts), in a process of its own so that its
 * peak memory and CPU time are its own:
 * `tsx bench/throughput-run.ts '{"kind":"ceiling","brokers":"…","topic":"…","records":100000,…}'`
 * drains the pre-produced topic once and prints one JSON line with the figures.
 *
 * - `ceiling`: what kafkajs itself can do with the same work shape as streamclust: a consumer in
 *   a fresh group reads the topic (eachBatch, the same partitionsConsumedConcurrently), parses
 *   every record's JSON, produces one small JSON output per input record (acks -1, one send per
 *   fetched batch) and commits the batch's offsets once that send is acknowledged.
 * - `streamclust`: the pipeline as `streamclust run` builds it (Kafka source, trainer worker,
 *   store, Kafka sinks with acks -1, offsets committed after the outputs), with the defaults and
 *   the given `training` override.
 *
 * Both are timed in the steady state: from the first output written (for streamclust: once the
 * warm-up sample is assigned, the backend loaded and the network pretrained, all once per
 * start; `startSeconds` says how long that took) to the output of the `records`-th record, and
 * the rate counts the records written in between. CPU time is measured over the same span:
 * the process's, its main thread's and, given its pid, the broker's (the last two from /proc).
 */
import { readFileSync } from 'node:fs';

import kafkajs from 'kafkajs';

import { validateConfig } from '../src/config/load-config.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';

export interface ThroughputRun {
  kind: 'ceiling' | 'streamclust';
  brokers: string;
  topic: string;
  /** Records on the topic; the run ends when every one of them has its output. */
  records: number;
  /** A fresh consumer group (and output topic) per run, so each reads the topic from the start. */
  group: string;
  /** streamclust only: overrides of the `training` section (none: the defaults). */
  training?: Record<string, unknown>;
  /** streamclust only: overrides of the `batch` section. */
  batch?: Record<string, unknown>;
  /** streamclust only: overrides of the `drift` section. */
  drift?: Record<string, unknown>;
  /** streamclust only: overrides of the `decode` section. */
  decode?: Record<string, unknown>;
  /** streamclust only: overrides of the `model` section. */
  model?: Record<string, unknown>;
  /** streamclust only: overrides of the `kafka` section (brokers and topics are the run's). */
  kafka?: Record<string, unknown>;
  /** The broker's process, whose CPU time over the steady state is measured too (Linux). */
  brokerPid?: number;
}

export interface ThroughputFigures {
  /** Records written per second in the steady state. */
  recordsPerSecond: number;
  /** Seconds of the steady state. */
  seconds: number;
  /** Seconds from the first record read to the first output written (start-up work). */
  startSeconds: number;
  /** User + system CPU seconds of the whole process (worker threads included) per record. */
  cpuMicrosecondsPerRecord: number;
  peakRssBytes: number;
  /** Of `cpuMicrosecondsPerRecord`, the main thread's (the rest: workers, TensorFlow's pools, GC). */
  mainThreadCpuMicrosecondsPerRecord?: number;
  /** The broker's user + system CPU per record over the same span (when its pid was given). */
  brokerCpuMicrosecondsPerRecord?: number;
  /**
   * The steady state's bounds on the monotonic clock (process.hrtime, µs), which V8's CPU
   * profiles also use: a profile's samples can be cut to the same span.
   */
  steadyMicroseconds: [number, number];
  /** streamclust only: seconds in each pipeline stage, summed over batches. */
  stageSeconds?: Record<string, number>;
  batches?: number;
  backend?: string;
}

const PARTITIONS_CONCURRENTLY = 3;

async function ceiling(run: ThroughputRun): Promise<ThroughputFigures> {
  const kafka = new kafkajs.Kafka({
    brokers: [run.brokers],
    clientId: 'throughput-ceiling',
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const producer = kafka.producer({
    allowAutoTopicCreation: true,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: run.group });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: run.topic, fromBeginning: true });
  let done = 0;
  let base = 0;
  let readAt: number | undefined;
  let start: SteadyStart | undefined;
  let finished: (() => void) | undefined;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const outputTopic = `${run.group}-out`;
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
      if (batch.messages.length === 0) return;
      readAt ??= performance.now();
      const messages = batch.messages.map((m) => {
        const parsed = JSON.parse(m.value?.toString('utf8') ?? 'null') as { features: number[] };
        return {
          key: m.key,
          value: JSON.stringify({
            partition: batch.partition,
            offset: m.offset,
            clusterId: parsed.features.length % 8,
            distance: 0,
          }),
        };
      });
      await producer.send({ topic: outputTopic, acks: -1, messages });
      const last = batch.messages.at(-1)!;
      resolveOffset(last.offset);
      await commitOffsetsIfNecessary({
        topics: [
          {
            topic: batch.topic,
            partitions: [{ partition: batch.partition, offset: String(Number(last.offset) + 1) }],
          },
        ],
      });
      await heartbeat();
      done += batch.messages.length;
      if (start === undefined) {
        start = steadyStart(run);
        base = done;
      }
      if (done >= run.records) finished?.();
    },
  });
  await allDone;
  const figures = steadyState(run, { readAt, start, lastAt: performance.now() }, done - base);
  await consumer.disconnect();
  await producer.disconnect();
  return figures;
}

/** Microseconds of user + system CPU a process has used, from /proc (Linux; else undefined). */
function processCpuMicroseconds(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statCpuMicroseconds(`/proc/${pid}/stat`);
}

/** CPU µs of this process's main thread (its OS thread id is the pid), from /proc (Linux). */
function mainThreadCpuMicroseconds(): number | undefined {
  return statCpuMicroseconds(`/proc/self/task/${process.pid}/stat`);
}

/** User + system CPU in a /proc `stat` file (a process's or a thread's), in µs. */
function statCpuMicroseconds(file: string): number | undefined {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime
    // are the 12th and 13th, in clock ticks of 1/100 s.
    const stat = readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

const monotonicMicroseconds = (): number => Number(process.hrtime.bigint() / 1000n);

/** What the steady state starts from: the first output's time and the CPU used until then. */
interface SteadyStart {
  at: number;
  cpu: NodeJS.CpuUsage;
  brokerCpu: number | undefined;
  mainCpu: number | undefined;
  monotonic: number;
}

function steadyStart(run: ThroughputRun): SteadyStart {
  return {
    at: performance.now(),
    cpu: process.cpuUsage(),
    brokerCpu: processCpuMicroseconds(run.brokerPid),
    mainCpu: mainThreadCpuMicroseconds(),
    monotonic: monotonicMicroseconds(),
  };
}

/** The figures of the steady state: from the first output to the last, over `records`. */
function steadyState(
  run: ThroughputRun,
  times: { readAt: number | undefined; start: SteadyStart | undefined; lastAt: number },
  records: number,
): ThroughputFigures {
  const start = times.start as SteadyStart;
  const cpu = process.cpuUsage(start.cpu);
  const brokerCpu = processCpuMicroseconds(run.brokerPid);
  const mainCpu = mainThreadCpuMicroseconds();
  const seconds = (times.lastAt - start.at) / 1000;
  return {
    recordsPerSecond: records / seconds,
    seconds,
    startSeconds: (start.at - (times.readAt ?? start.at)) / 1000,
    cpuMicrosecondsPerRecord: (cpu.user + cpu.system) / records,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(brokerCpu === undefined || start.brokerCpu === undefined
      ? {}
      : { brokerCpuMicrosecondsPerRecord: (brokerCpu - start.brokerCpu) / records }),
    ...(mainCpu === undefined || start.mainCpu === undefined
      ? {}
      : { mainThreadCpuMicrosecondsPerRecord: (mainCpu - start.mainCpu) / records }),
    steadyMicroseconds: [
      start.monotonic,
      start.monotonic + Math.round((times.lastAt - start.at) * 1000),
    ],
  };
}

async function stageSeconds(metrics: Metrics): Promise<Record<string, number>> {
  const data = await metrics.stageDuration.get();
  const out: Record<string, number> = {};
  for (const v of data.values) {
    if (v.metricName !== 'streamclust_stage_duration_seconds_sum') continue;
    const stage = String(v.labels['stage']);
    out[stage] = (out[stage] ?? 0) + v.value;
  }
  return out;
}

async function streamclust(run: ThroughputRun): Promise<ThroughputFigures> {
  const config = validateConfig({
    source: 'kafka',
    kafka: {
      ...run.kafka,
      brokers: [run.brokers],
      inputTopic: run.topic,
      groupId: run.group,
      assignmentsTopic: `${run.group}-out`,
      deadLetterTopic: `${run.group}-dlq`,
      eventsTopic: `${run.group}-events`,
      lagIntervalMs: 0,
    },
    cluster: { k: 8 },
    training: run.training ?? {},
    batch: run.batch ?? {},
    drift: run.drift ?? {},
    decode: run.decode ?? {},
    model: run.model ?? {},
    http: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
  });
  const metrics = new Metrics({ defaultMetrics: false });
  let done = 0;
  let base = 0;
  let readAt: number | undefined;
  let start: SteadyStart | undefined;
  let lastAt = 0;
  const pipeline = await createPipeline(config, {
    logger: silentLogger,
    metrics,
    observers: [
      {
        onBatch: (report) => {
          done += report.records.length;
          if (start === undefined) {
            start = steadyStart(run);
            base = done;
          }
          if (done >= run.records && lastAt === 0) lastAt = performance.now();
        },
      },
    ],
  });
  // The first record read, for the start-up time.
  const poll = setInterval(() => {
    if (readAt === undefined && pipeline.status().recordsConsumed > 0) readAt = performance.now();
  }, 5);
  const running = pipeline.run();
  while (lastAt === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(poll);
  const figures = steadyState(run, { readAt, start, lastAt }, done - base);
  const status = pipeline.status();
  await pipeline.stop();
  await running;
  return {
    ...figures,
    stageSeconds: await stageSeconds(metrics),
    batches: status.batches,
    backend: status.backend ?? 'none',
  };
}

if (process.argv[1]?.endsWith('throughput-run.ts')) {
  const run = JSON.parse(process.argv[2] ?? '{}') as ThroughputRun;
  const figures = run.kind === 'ceiling' ? await ceiling(run) : await streamclust(run);
  process.stdout.write(JSON.stringify(figures) + '\n');
  process.exit(0);
}
