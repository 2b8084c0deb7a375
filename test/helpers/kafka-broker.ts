// A real single-node Apache Kafka broker (KRaft, broker and controller in one JVM) for tests.
// The jars come from Maven via scripts/kafka/fetch.sh and are cached in .cache/kafka/<version>;
// a broker needs nothing else than a JDK 17+. Ports are free ones on 127.0.0.1 and are kept
// across stop()/restart(), so clients that were configured once can reconnect after a restart.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const execFileAsync = promisify(execFile);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const scriptsDir = path.join(repoRoot, 'scripts', 'kafka');
const pomFile = path.join(scriptsDir, 'pom.xml');
const log4jConfig = path.join(scriptsDir, 'log4j2.yaml');

const MIN_JAVA_MAJOR = 17;
const DEFAULT_HEAP_MB = 512;
// Cold JVM start on a busy two-core machine, including __consumer_offsets creation.
const DEFAULT_READY_TIMEOUT_MS = 120_000;
// A clean shutdown of one node takes about 2 s; a broker stuck longer than this is killed.
const STOP_GRACE_MS = 20_000;
const PROBE_INTERVAL_MS = 200;
const LOG_TAIL_LINES = 40;

export interface KafkaBrokerOptions {
  /** Kafka version to run; default: kafka.version in scripts/kafka/pom.xml, or $KAFKA_VERSION. */
  version?: string;
  /** Holds server.properties and the data; default: a temp dir that destroy() removes. */
  dataDir?: string;
  /** Holds server.log and console.log; default: <dataDir>/logs. */
  logDir?: string;
  heapMb?: number;
  readyTimeoutMs?: number;
}

export type KafkaAvailability = { ok: true } | { ok: false; reason: string };

export class KafkaBroker {
  readonly brokers: string;
  readonly version: string;
  readonly logFile: string;
  readonly dataDir: string;

  private child: ChildProcess | undefined;
  /** The broker JVM's process id while it runs (benchmarks read its CPU time from /proc). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
  private exited: Promise<void> = Promise.resolve();
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  private constructor(
    private readonly settings: {
      version: string;
      libsDir: string;
      dataDir: string;
      logDir: string;
      brokerPort: number;
      heapMb: number;
      readyTimeoutMs: number;
      ownedDirs: string[];
    },
  ) {
    this.brokers = `127.0.0.1:${settings.brokerPort}`;
    this.version = settings.version;
    this.logFile = path.join(settings.logDir, 'server.log');
    this.dataDir = settings.dataDir;
  }

  static async start(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
    const version = options.version ?? (await defaultKafkaVersion());
    const heapMb = options.heapMb ?? DEFAULT_HEAP_MB;
    const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    if (!Number.isInteger(heapMb) || heapMb < 128) {
      throw new RangeError(`KafkaBroker: heapMb must be an integer >= 128, got ${heapMb}`);
    }
    const libsDir = await fetchKafkaJars(version);

    const ownedDirs: string[] = [];
    let dataDir = options.dataDir;
    if (dataDir === undefined) {
      dataDir = await mkdtemp(path.join(tmpdir(), 'streamclust-kafka-'));
      ownedDirs.push(dataDir);
    }
    const logDir = options.logDir ?? path.join(dataDir, 'logs');
    await mkdir(path.join(dataDir, 'data'), { recursive: true });
    await mkdir(logDir, { recursive: true });
    // A fresh start gets fresh logs, so the tail quoted on failure belongs to this broker.
    await Promise.all(
      ['server.log', 'console.log'].map((file) => rm(path.join(logDir, file), { force: true })),
    );

    const [brokerPort, controllerPort] = await freePorts(2);
    if (brokerPort === undefined || controllerPort === undefined) {
      throw new Error('KafkaBroker: could not reserve two free ports on 127.0.0.1');
    }
    const broker = new KafkaBroker({
      version,
      libsDir,
      dataDir,
      logDir,
      brokerPort,
      heapMb,
      readyTimeoutMs,
      ownedDirs,
    });
    try {
      await writeFile(broker.propertiesFile, serverProperties(dataDir, brokerPort, controllerPort));
      if (!existsSync(path.join(dataDir, 'data', 'meta.properties'))) {
        await broker.formatStorage();
      }
      await broker.launch();
    } catch (error) {
      await broker.destroy();
      throw error;
    }
    return broker;
  }

  /** Stops the JVM (SIGTERM, SIGKILL after a grace period); data dir and ports are kept. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const graceful = await Promise.race([
        this.exited.then(() => true),
        delay(STOP_GRACE_MS).then(() => false),
      ]);
      if (!graceful) child.kill('SIGKILL');
    }
    await this.exited;
    this.child = undefined;
    process.off('exit', this.killOnExit);
  }

  /** Starts the same broker again on the same ports and data, and waits until it is ready. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops the broker and removes the directories start() created. */
  async destroy(): Promise<void> {
    await this.stop();
    await Promise.all(
      this.settings.ownedDirs.map((dir) => rm(dir, { recursive: true, force: true })),
    );
  }

  private get propertiesFile(): string {
    return path.join(this.settings.dataDir, 'server.properties');
  }

  private jvmArgs(mainClass: string, ...args: string[]): string[] {
    return [
      '-cp',
      path.join(this.settings.libsDir, '*'),
      `-Dlog4j2.configurationFile=${log4jConfig}`,
      `-Dkafka.logs.dir=${this.settings.logDir}`,
      '-Djava.awt.headless=true',
      mainClass,
      ...args,
    ];
  }

  private async formatStorage(): Promise<void> {
    const args = this.jvmArgs('kafka.tools.StorageTool', 'format');
    args.push('-t', kafkaClusterId(), '-c', this.propertiesFile);
    try {
      await execFileAsync(javaCommand(), args, { timeout: 120_000 });
    } catch (error) {
      throw new Error(`KafkaBroker: formatting ${this.settings.dataDir} failed`, { cause: error });
    }
  }

  private async launch(): Promise<void> {
    const consoleLog = openSync(path.join(this.settings.logDir, 'console.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        javaCommand(),
        [
          `-Xmx${this.settings.heapMb}m`,
          '-XX:+ExitOnOutOfMemoryError',
          ...this.jvmArgs('kafka.Kafka', this.propertiesFile),
        ],
        { stdio: ['ignore', consoleLog, consoleLog] },
      );
    } finally {
      closeSync(consoleLog);
    }
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    // An interrupted test run must not leave a JVM holding the ports.
    process.on('exit', this.killOnExit);

    const deadline = Date.now() + this.settings.readyTimeoutMs;
    let lastProbeError: unknown;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null || spawnError !== undefined) {
        const how =
          spawnError?.message ?? `exited with ${child.exitCode ?? child.signalCode} during start`;
        await this.stop();
        throw new Error(`KafkaBroker ${this.brokers}: ${how}\n${await this.logTail()}`);
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `KafkaBroker ${this.brokers}: not ready after ${this.settings.readyTimeoutMs} ms ` +
            `(last probe: ${describeError(lastProbeError)})\n${await this.logTail()}`,
          { cause: lastProbeError },
        );
      }
      const probe = probeReady(this.brokers).then(
        () => true,
        (error: unknown) => {
          lastProbeError = error;
          return false;
        },
      );
      if (await Promise.race([probe, this.exited.then(() => false)])) return;
      await Promise.race([delay(PROBE_INTERVAL_MS), this.exited]);
    }
  }

  private async logTail(): Promise<string> {
    const sections = await Promise.all(
      ['server.log', 'console.log'].map(async (file) => {
        const full = path.join(this.settings.logDir, file);
        const text = await readFile(full, 'utf8').catch(() => '');
        const lines = text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
        return lines === '' ? '' : `--- last lines of ${full} ---\n${lines}`;
      }),
    );
    return sections.filter((section) => section !== '').join('\n') || '(the broker wrote no log)';
  }
}

/** Whether this machine can run a KafkaBroker: a JDK 17+, and Maven or already cached jars. */
export async function kafkaAvailability(version?: string): Promise<KafkaAvailability> {
  let javaOutput: string;
  try {
    const { stderr, stdout } = await execFileAsync(javaCommand(), ['-version'], {
      timeout: 30_000,
    });
    javaOutput = `${stderr}${stdout}`;
  } catch {
    return {
      ok: false,
      reason:
        `no working java (tried ${javaCommand()}): Kafka needs a JDK ${MIN_JAVA_MAJOR}+ ` +
        'on PATH or in JAVA_HOME',
    };
  }
  const major = javaMajorVersion(javaOutput);
  if (major === undefined || major < MIN_JAVA_MAJOR) {
    const found = javaOutput.split('\n')[0] ?? '';
    return { ok: false, reason: `Kafka needs Java ${MIN_JAVA_MAJOR}+, found: ${found.trim()}` };
  }
  const libsDir = kafkaLibsDir(version ?? (await defaultKafkaVersion()));
  if (existsSync(path.join(libsDir, '.complete'))) return { ok: true };
  try {
    await execFileAsync('mvn', ['-v'], { timeout: 60_000 });
  } catch {
    return {
      ok: false,
      reason: `the Kafka jars are not cached in ${libsDir} and Maven (mvn) is not on PATH to fetch them`,
    };
  }
  return { ok: true };
}

function kafkaLibsDir(version: string): string {
  return path.join(repoRoot, '.cache', 'kafka', version, 'libs');
}

async function defaultKafkaVersion(): Promise<string> {
  const fromEnv = process.env['KAFKA_VERSION'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const pom = await readFile(pomFile, 'utf8');
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (match?.[1] === undefined) throw new Error(`KafkaBroker: no <kafka.version> in ${pomFile}`);
  return match[1].trim();
}

async function fetchKafkaJars(version: string): Promise<string> {
  const libsDir = kafkaLibsDir(version);
  if (existsSync(path.join(libsDir, '.complete'))) return libsDir;
  try {
    await execFileAsync('bash', [path.join(scriptsDir, 'fetch.sh'), version], {
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const output = error instanceof Error && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`KafkaBroker: fetching the Kafka ${version} jars failed\n${output}`, {
      cause: error,
    });
  }
  return libsDir;
}

function javaCommand(): string {
  const javaHome = process.env['JAVA_HOME'];
  return javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
}

function javaMajorVersion(versionOutput: string): number | undefined {
  // `java -version` prints e.g. `openjdk version "17.0.15"` or, before Java 9, `"1.8.0_402"`.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (match?.[1] === undefined) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** Kafka's own cluster id format (Uuid.randomUuid): 16 random bytes, unpadded base64url. */
function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka rejects ids that start with '-' because they read as command line flags.
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(dataDir: string, brokerPort: number, controllerPort: number): string {
  return [
    '# Written by test/helpers/kafka-broker.ts: one node that is both broker and KRaft controller.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${path.join(dataDir, 'data')}`,
    // A single node cannot hold the default three replicas of the internal topics.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Tests join fresh groups all the time; the default 3 s wait per new group adds up.
    'group.initial.rebalance.delay.ms=0',
    // The coordinator drops empty groups without offsets at each retention check (every 10 min
    // by default): tests that count the groups a command used would see some vanish mid-run.
    'offsets.retention.check.interval.ms=86400000',
    'num.partitions=1',
    '',
  ].join('\n');
}

/** Free TCP ports on 127.0.0.1, held open together so that they differ from each other. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

/**
 * Ready means more than an open port: metadata answers, and the group coordinator (which needs
 * __consumer_offsets created and loaded) serves offset fetches. Without the second part the
 * first consumer group of a test run meets COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS.
 */
async function probeReady(brokers: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'streamclust-kafka-broker-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    // The caller polls; a retrying client would hide how long each attempt really takes.
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('describeCluster returned no brokers');
    await admin.fetchOffsets({ groupId: `streamclust-readiness-${kafkaClusterId()}`, topics: [] });
  } finally {
    await admin.disconnect();
  }
}

function describeError(error: unknown): string {
  if (error === undefined) return 'none';
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
