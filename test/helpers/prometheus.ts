/**
 * A real Prometheus server (Debian's `prometheus` package) for tests: each test starts its own
 * process on a free port with its own configuration and data directory, never the system
 * service the package installs, and stops it afterwards. `promtool` comes with it.
 *
 * Through describeWithComponent (real-component.ts): without the binaries a suite is skipped
 * with the reason on a developer's machine and fails when CI=true (.ci/run installs the package).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { waitFor } from './kafka.js';
import { describeWithComponent } from './real-component.js';

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';

/** Why Prometheus cannot run here, or undefined when it can. */
export function prometheusUnavailableReason(): string | undefined {
  for (const bin of [PROMETHEUS_BIN, PROMTOOL_BIN]) {
    const result = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (result.error !== undefined || result.status !== 0) {
      return `${bin} is not runnable (${result.error?.message ?? `exit ${result.status}`}); install Debian's prometheus package (apt-get install prometheus)`;
    }
  }
  return undefined;
}

/** `describe` for suites that need Prometheus: skipped with the reason locally, failing in CI. */
export function describeWithPrometheus(name: string, fn: () => void): void {
  describeWithComponent('Prometheus', prometheusUnavailableReason(), name, fn);
}

/** Runs promtool with the arguments (and optional stdin); returns its exit code and output. */
export function promtool(
  args: readonly string[],
  input?: string,
): { code: number; output: string } {
  const result = spawnSync(PROMTOOL_BIN, args, { encoding: 'utf8', input, timeout: 60_000 });
  return { code: result.status ?? -1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrometheusQueryResult {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown[];
}

export class PrometheusServer {
  readonly url: string;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private log = '';

  private constructor(url: string, child: ChildProcess, dir: string) {
    this.url = url;
    this.child = child;
    this.dir = dir;
    child.stderr?.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000)));
  }

  /**
   * Starts Prometheus with the given configuration (YAML text) and extra files beside it (rule
   * files, by the name the configuration uses), and waits until it is ready.
   */
  static async start(
    configYaml: string,
    files: Record<string, string> = {},
  ): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-prometheus-'));
    writeFileSync(join(dir, 'prometheus.yml'), configYaml);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const port = await freePort();
    const child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, child, dir);
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited: ${server.log}`);
          const response = await fetch(`${server.url}/-/ready`).catch(() => undefined);
          return response?.ok === true;
        },
        { timeoutMs: 60_000, intervalMs: 200, message: 'prometheus did not become ready' },
      );
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get stderr(): string {
    return this.log;
  }

  /** An instant query through the HTTP API; throws with Prometheus' error on a bad expression. */
  /** An instant query, evaluated now or at `time` (Unix seconds). */
  async query(expr: string, time?: number): Promise<PrometheusQueryResult> {
    const at = time === undefined ? '' : `&time=${time}`;
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}${at}`);
    const body = (await response.json()) as {
      status: string;
      data?: PrometheusQueryResult;
      error?: string;
      errorType?: string;
    };
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(
        `query ${expr} failed: ${body.errorType ?? ''} ${body.error ?? response.status}`,
      );
    }
    return body.data;
  }

  async api<T>(path: string): Promise<T> {
    const response = await fetch(`${this.url}/api/v1/${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? response.status}`);
    return body.data;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
