import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { BackendUnavailableError } from '../../../src/errors.js';
import { describeChoice, describeLoadError, selectBackend } from '../../../src/model/backend.js';
import { nativeUnavailableReason } from '../../helpers/native-backend.js';

// Whether `npm run setup:native` (or an online install) built the addon on this machine.
const nativeLoads = nativeUnavailableReason() === undefined;

describe('selectBackend', () => {
  it('auto picks the first backend that loads and says why the better ones were skipped', async () => {
    const choice = await selectBackend(tf, 'auto');
    console.log(`[backend] auto chose: ${describeChoice(choice)}`);
    expect(tf.getBackend()).toBe(choice.name);
    if (nativeLoads) {
      expect(choice.name).toBe('tensorflow');
      expect(choice.provider).toMatch(/^@tensorflow\/tfjs-node(-gpu)?$/);
      expect(describeChoice(choice)).toMatch(
        /^backend tensorflow on (CPU|GPU) from @tensorflow\/tfjs-node/,
      );
    } else {
      // No native addon on this machine: wasm is next, and both native packages are named.
      expect(choice.name).toBe('wasm');
      expect(choice.skipped.map((s) => s.backend)).toEqual([
        'tensorflow (@tensorflow/tfjs-node-gpu)',
        'tensorflow (@tensorflow/tfjs-node)',
      ]);
      expect(describeChoice(choice)).toMatch(
        /^backend wasm from @tensorflow\/tfjs-backend-wasm \(not used: tensorflow \(@tensorflow\/tfjs-node-gpu\): /,
      );
    }
  });

  it('the native backend is built here (npm run setup:native; required when CI=true)', (ctx) => {
    const reason = nativeUnavailableReason();
    if (reason !== undefined && process.env['CI'] !== 'true') ctx.skip(reason);
    expect(reason).toBeUndefined();
  });

  it('takes exactly the backend the configuration names', async () => {
    const choice = await selectBackend(tf, 'cpu');
    expect(choice).toEqual({ name: 'cpu', provider: '@tensorflow/tfjs', gpu: false, skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(
      tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]),
    ).toBe(11);
  });

  it('loads a demanded native backend, or fails with the ways to get it', async () => {
    const attempt = selectBackend(tf, 'tensorflow');
    if (nativeLoads) {
      await expect(attempt).resolves.toMatchObject({ name: 'tensorflow' });
      expect(
        tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]),
      ).toBe(11);
      return;
    }
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(
      /^model\.backend is tensorflow, but it cannot be loaded on this machine \(.*\)\. To use it, build it with `npm run setup:native` \(from the TensorFlow wheel on the Python package index; `npm run setup:native -- --gpu` for the CUDA build\), or `npm install @tensorflow\/tfjs-node` where the libtensorflow download host is reachable; or set model\.backend to auto to take the best backend that loads\.$/,
    );
  });
});

describe('describeLoadError', () => {
  it('says "not installed" for a missing package', () => {
    const error = Object.assign(
      new Error(
        "Cannot find package '@tensorflow/tfjs-node' imported from /app/dist/src/model/backend.js",
      ),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    expect(describeLoadError(error, '@tensorflow/tfjs-node')).toBe(
      '@tensorflow/tfjs-node is not installed',
    );
  });

  it('says how to build a package installed without its addon (npm ci offline, scripts off)', () => {
    // The plain Error tfjs-node throws when lib/napi-v8/tfjs_binding.node is missing.
    const error = new Error(
      'The Node.js native addon module (tfjs_binding.node) can not be found at path: /app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node. \nPlease run command ...',
    );
    expect(describeLoadError(error, '@tensorflow/tfjs-node-gpu')).toBe(
      '@tensorflow/tfjs-node-gpu is installed without its native addon (run `npm run setup:native` to build it)',
    );
  });

  it('quotes the first line of any other failure (a missing shared library, say)', () => {
    const error = new Error(
      'libcudart.so.11.0: cannot open shared object file: No such file or directory\n    at Module._extensions..node',
    );
    expect(describeLoadError(error, '@tensorflow/tfjs-node-gpu')).toBe(
      '@tensorflow/tfjs-node-gpu failed to load: libcudart.so.11.0: cannot open shared object file: No such file or directory',
    );
  });
});
