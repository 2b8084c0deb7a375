import { createRequire } from 'node:module';

import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { BackendUnavailableError } from '../../../src/errors.js';
import { describeChoice, selectBackend } from '../../../src/model/backend.js';

const require = createRequire(import.meta.url);
function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
const nativeInstalled =
  installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

describe('selectBackend', () => {
  it('auto picks the first backend that loads and says why the better ones were skipped', async () => {
    const choice = await selectBackend(tf, 'auto');
    expect(tf.getBackend()).toBe(choice.name);
    if (nativeInstalled) {
      expect(choice.name).toBe('tensorflow');
    } else {
      // No native addon on this machine: wasm is next, and both native packages are named.
      expect(choice.name).toBe('wasm');
      expect(choice.skipped).toEqual([
        {
          backend: 'tensorflow (@tensorflow/tfjs-node-gpu)',
          reason: '@tensorflow/tfjs-node-gpu is not installed',
        },
        {
          backend: 'tensorflow (@tensorflow/tfjs-node)',
          reason: '@tensorflow/tfjs-node is not installed',
        },
      ]);
      expect(describeChoice(choice)).toBe(
        'backend wasm from @tensorflow/tfjs-backend-wasm (not used: tensorflow (@tensorflow/tfjs-node-gpu): ' +
          '@tensorflow/tfjs-node-gpu is not installed; tensorflow (@tensorflow/tfjs-node): @tensorflow/tfjs-node is not installed)',
      );
    }
  });

  it('takes exactly the backend the configuration names', async () => {
    const choice = await selectBackend(tf, 'cpu');
    expect(choice).toEqual({ name: 'cpu', provider: '@tensorflow/tfjs', gpu: false, skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(
      tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]),
    ).toBe(11);
  });

  it('loads a demanded native backend, or fails with install instructions when it is missing', async () => {
    const attempt = selectBackend(tf, 'tensorflow');
    if (nativeInstalled) {
      await expect(attempt).resolves.toMatchObject({ name: 'tensorflow' });
      return;
    }
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(
      'model.backend is tensorflow, but it cannot be loaded on this machine (tensorflow (@tensorflow/tfjs-node-gpu): ' +
        '@tensorflow/tfjs-node-gpu is not installed; tensorflow (@tensorflow/tfjs-node): @tensorflow/tfjs-node is not installed). ' +
        'To use it, install it with `npm install @tensorflow/tfjs-node` (CPU) or `npm install @tensorflow/tfjs-node-gpu` ' +
        '(CUDA 11.2 + cuDNN 8.1); both download libtensorflow at install time, so the machine needs internet access then; ' +
        'or set model.backend to auto to take the best backend that loads.',
    );
  });
});
