import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { usage } from '../../../src/cli.js';
import { helpText, parseCommandLine } from '../../../src/commands/run.js';
import { REPO_ROOT, runCli, startCli } from '../../helpers/cli-process.js';
import { waitFor } from '../../helpers/kafka.js';

describe('streamclust --help', () => {
  it('lists the commands', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toBe(usage() + '\n');
    expect(stdout).toMatch(/^ {2}run +consume the source/m);
  });

  it('run --help explains every option', async () => {
    const { code, stdout } = await runCli(['run', '--help']);
    expect(code).toBe(0);
    expect(stdout).toBe(helpText() + '\n');
    for (const flag of [
      '--config',
      '--source',
      '--brokers',
      '--topic',
      '--group',
      '--file',
      '--backend',
      '--batch-size',
      '--k',
      '--records',
      '--rate',
      '--seed',
      '--assignments',
      '--workers',
      '--checkpoint-dir',
      '--resume',
      '--host',
      '--port',
      '--log-level',
      '--set',
      '--print-config',
      '--help',
    ]) {
      expect(stdout).toMatch(new RegExp(`${flag}\\b[^\\n]* {2,}\\S`));
    }
  });
});

describe('command line parsing', () => {
  it('maps flags and --set to configuration keys, parsing scalars', () => {
    const cli = parseCommandLine([
      'run',
      '--brokers',
      'a:1,b:2',
      '--k',
      '8',
      '--set',
      'batch.maxWaitMs=50',
      '--set',
      'training.mode=off',
    ]);
    expect(cli.command).toBe('run');
    expect(cli.overrides).toEqual({
      'kafka.brokers': ['a:1', 'b:2'],
      'cluster.k': 8,
      'batch.maxWaitMs': 50,
      'training.mode': 'off',
    });
  });

  it('--file implies the file source unless --source says otherwise', () => {
    expect(parseCommandLine(['run', '--file', 'x.csv']).overrides).toMatchObject({
      source: 'file',
      'file.path': 'x.csv',
    });
    expect(
      parseCommandLine(['run', '--file', 'x.csv', '--source', 'synthetic']).overrides['source'],
    ).toBe('synthetic');
  });

  it('rejects an unknown flag with a pointer to --help', () => {
    expect(() => parseCommandLine(['run', '--frobnicate'])).toThrow(
      'command line: --frobnicate is invalid: unknown option. Fix: streamclust run --help lists the options',
    );
  });
});

describe('slips of the keyboard on the real CLI', () => {
  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as {
      version: string;
    };
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`streamclust ${version} (Node.js ${process.version})\n`);
  });

  it('a misspelt flag exits 78 naming the flag it resembles', async () => {
    const evaluate = await runCli(['evaluate', '--pases', '3']);
    expect(evaluate.code).toBe(78);
    expect(evaluate.stderr).toBe(
      'streamclust: invalid configuration (1 problem):\n' +
        '  - command line: --pases is invalid: unknown option. ' +
        'Fix: did you mean --passes? (streamclust evaluate --help lists the options)\n',
    );
    const run = await runCli(['run', '--batch-sise=64']);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain(
      '--batch-sise is invalid: unknown option. Fix: did you mean --batch-size?',
    );
  });

  it('a misspelt command exits 2 naming the command it resembles', async () => {
    const { code, stderr } = await runCli(['evalute']);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^streamclust: unknown command "evalute": did you mean streamclust evaluate\?\n/,
    );
  });

  it('a misspelt environment variable exits 78 naming the variable it resembles', async () => {
    const { code, stderr } = await runCli(['run', '--print-config'], {
      STREAMCLUST_BATCH__MAX_WAIT: '20',
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      'STREAMCLUST_BATCH__MAX_WAIT: "20" is invalid: this environment variable names no configuration key. ' +
        'Fix: did you mean STREAMCLUST_BATCH__MAX_WAIT_MS? Otherwise unset it',
    );
  });
});

describe('streamclust run', () => {
  it('exits 78 with the key, the value, the rule and the fix on an invalid value', async () => {
    const { code, stderr } = await runCli(['run', '--batch-size', '0']);
    expect(code).toBe(78);
    expect(stderr).toContain(
      'streamclust: invalid configuration (1 problem):\n  - batch.size: 0 is invalid: must be >= 1. Fix: set batch.size to an integer from 1 to 65536 (default 1024), or pass --batch-size N',
    );
  });

  it('runs the demo stream with no broker: status line, growing /metrics, clean SIGTERM', async () => {
    const cli = startCli([
      'run',
      '--port',
      '0',
      '--set',
      'log.statusIntervalMs=500',
      '--rate',
      '3000',
    ]);
    try {
      const url = await waitFor(() => /url=(http:\S+)/.exec(cli.stderr())?.[1], {
        timeoutMs: 60_000,
        message: 'no HTTP url logged',
      });
      const consumed = async (): Promise<number> => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return Number(/^streamclust_records_consumed_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
      };
      const first = await waitFor(async () => ((await consumed()) > 0 ? consumed() : undefined), {
        timeoutMs: 30_000,
      });
      // The source holds at most batch.maxInFlight chunks: once the warm-up sample is in, it
      // reads on only after pretraining (up to training.pretrain.maxSeconds, 60 s, when other
      // test files share the CPU).
      await waitFor(async () => (await consumed()) > first, {
        timeoutMs: 90_000,
        message: 'consumed counter did not grow',
      });
      await waitFor(
        () =>
          /\[streamclust\] [\d,]+ records \([\d,]+\/s\) \| [\d,]+ assigned \| \d+ invalid \| 8 clusters \| loss \d/.test(
            cli.stderr(),
          ),
        {
          // The store starts after pretraining, which may take up to training.pretrain.maxSeconds
          // (60 s) when other test files share the CPU.
          timeoutMs: 90_000,
          message: 'no status line with clusters and loss',
        },
      );
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const clusters = (await (await fetch(`${url}/clusters`)).json()) as { clusters: unknown[] };
      expect(clusters.clusters).toHaveLength(8);
    } finally {
      cli.child.kill('SIGTERM');
    }
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.stderr()).toMatch(/SIGTERM: draining/);
    expect(cli.stderr()).toMatch(/INFO {2}stopped consumed=\d+/);
    // The waits above allow for pretraining on a shared CPU; the unit default (60 s) would not.
  }, 240_000);
});
