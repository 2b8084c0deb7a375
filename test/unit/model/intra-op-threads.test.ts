import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { intraOpThreadsFor } from '../../../src/model/trainer-pool.js';
import { describeWithNativeBackend } from '../../helpers/native-backend.js';

const exec = promisify(execFile);

describe('model.intraOpThreads', () => {
  it('is auto by default: two cores left to the main thread and the broker, the rest shared, at least one each', () => {
    expect(validateConfig({}).model.intraOpThreads).toBe('auto');
    expect(intraOpThreadsFor('auto', 2, 2)).toBe(1);
    expect(intraOpThreadsFor('auto', 1, 1)).toBe(1);
    expect(intraOpThreadsFor('auto', 8, 1)).toBe(6);
    expect(intraOpThreadsFor('auto', 16, 2)).toBe(7);
    // A number is taken as it is; 0 leaves TensorFlow's default (one per core).
    expect(intraOpThreadsFor(3, 2, 2)).toBe(3);
    expect(intraOpThreadsFor(0, 16, 2)).toBe(0);
  });

  it('names the key when the value is neither auto nor a whole number', () => {
    expect(() => validateConfig({ model: { intraOpThreads: 'many' } })).toThrow(
      /model\.intraOpThreads/,
    );
    expect(() => validateConfig({ model: { intraOpThreads: -1 } })).toThrow(
      /model\.intraOpThreads/,
    );
  });
});

/**
 * The setting reaches TensorFlow: a pool started with three intra-op threads runs more OS threads
 * than one started with one. Each in a process of its own, since the variable is set once per
 * process (a value already set wins).
 */
describeWithNativeBackend('model.intraOpThreads on the native backend', () => {
  const threadsWith = async (intraOpThreads: number): Promise<number> => {
    const script = `
      import { readdirSync } from 'node:fs';
      import { validateConfig } from './src/config/load-config.ts';
      import { TrainerPool } from './src/model/trainer-pool.ts';
      const config = validateConfig({ model: { backend: 'tensorflow' } });
      delete process.env.TF_NUM_INTRAOP_THREADS;
      const { pool } = await TrainerPool.start({
        backend: 'tensorflow', model: { ...config.model, inputDim: 8 }, losses: config.losses,
        workers: 1, intraOpThreads: ${intraOpThreads},
      });
      await pool.step({ features: new Float32Array(64 * 8).fill(0.5), rows: 64, train: false, phase: 'full', seed: 1 });
      console.log(JSON.stringify({ threads: readdirSync('/proc/self/task').length, env: process.env.TF_NUM_INTRAOP_THREADS ?? null }));
      await pool.close();
      process.exit(0);
    `;
    const { stdout } = await exec(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: new URL('../../../', import.meta.url).pathname, timeout: 60_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      threads: number;
      env: string | null;
    };
    expect(result.env).toBe(intraOpThreads > 0 ? String(intraOpThreads) : null);
    return result.threads;
  };

  it(
    'runs more OS threads with three intra-op threads than with one',
    { timeout: 120_000 },
    async () => {
      const one = await threadsWith(1);
      const three = await threadsWith(3);
      console.log(`[intra-op] OS threads: ${one} with one intra-op thread, ${three} with three`);
      expect(three).toBeGreaterThan(one);
    },
  );
});
