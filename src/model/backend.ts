/**
 * Picks the TensorFlow.js backend: the native `tensorflow` addon (GPU build first), then
 * `wasm`, then `cpu`, or exactly the one the configuration demands.
 *
 * The native packages are optional dependencies whose own install script downloads libtensorflow,
 * which fails on machines without access to its host, so "not installed" is a normal answer here
 * and the next backend is tried. `npm run setup:native` (scripts/native/setup.sh) builds the
 * addon from the TensorFlow C library inside the PyPI wheel instead. The addon loads in several
 * worker threads of one process, each with its own eager context; this runs inside every trainer
 * worker, and the main thread never imports TensorFlow.
 */
import type * as tfType from '@tensorflow/tfjs';

import { BackendUnavailableError } from '../errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendRequest = 'auto' | BackendName;

export interface BackendChoice {
  name: BackendName;
  /** The package that provided it, e.g. `@tensorflow/tfjs-node-gpu`. */
  provider: string;
  /** True when the native GPU build loaded and TensorFlow sees a GPU device. */
  gpu: boolean;
  /** Why each better backend was not used, in preference order. */
  skipped: { backend: string; reason: string }[];
}

type Tf = typeof tfType;

interface Candidate {
  backend: BackendName;
  provider: string;
  load: () => Promise<void>;
}

const INSTALL_HINT: Record<BackendName, string> = {
  tensorflow:
    'build it with `npm run setup:native` (from the TensorFlow wheel on the Python package index; ' +
    '`npm run setup:native -- --gpu` for the CUDA build), or `npm install @tensorflow/tfjs-node` ' +
    'where the libtensorflow download host is reachable',
  wasm: 'reinstall dependencies with `npm ci`: @tensorflow/tfjs-backend-wasm is a regular dependency',
  cpu: 'reinstall dependencies with `npm ci`: the cpu backend ships with @tensorflow/tfjs',
};

function candidates(): Candidate[] {
  return [
    {
      backend: 'tensorflow',
      provider: '@tensorflow/tfjs-node-gpu',
      load: () => importQuietly('@tensorflow/tfjs-node-gpu'),
    },
    {
      backend: 'tensorflow',
      provider: '@tensorflow/tfjs-node',
      load: () => importQuietly('@tensorflow/tfjs-node'),
    },
    {
      backend: 'wasm',
      provider: '@tensorflow/tfjs-backend-wasm',
      load: () => importQuietly('@tensorflow/tfjs-backend-wasm'),
    },
    { backend: 'cpu', provider: '@tensorflow/tfjs', load: async () => undefined },
  ];
}

async function importQuietly(specifier: string): Promise<void> {
  // A variable specifier keeps bundlers and tsc from resolving optional packages statically.
  await import(specifier);
}

export async function selectBackend(
  tf: Tf,
  request: BackendRequest = 'auto',
): Promise<BackendChoice> {
  const skipped: BackendChoice['skipped'] = [];
  const wanted = candidates().filter((c) => request === 'auto' || c.backend === request);
  for (const candidate of wanted) {
    const failure = await tryBackend(tf, candidate);
    if (failure === undefined) {
      return {
        name: candidate.backend,
        provider: candidate.provider,
        gpu: usesGpu(tf, candidate),
        skipped,
      };
    }
    skipped.push({ backend: `${candidate.backend} (${candidate.provider})`, reason: failure });
  }
  const why = skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  if (request === 'auto') {
    throw new BackendUnavailableError(`no TensorFlow.js backend could be loaded (${why})`);
  }
  throw new BackendUnavailableError(
    `model.backend is ${request}, but it cannot be loaded on this machine (${why}). ` +
      `To use it, ${INSTALL_HINT[request]}; or set model.backend to auto to take the best backend that loads.`,
  );
}

async function tryBackend(tf: Tf, candidate: Candidate): Promise<string | undefined> {
  try {
    await candidate.load();
  } catch (error) {
    return describeLoadError(error, candidate.provider);
  }
  try {
    if (!(await tf.setBackend(candidate.backend))) return 'the backend did not initialise';
    await tf.ready();
    // A one-element computation proves the kernels actually run (a broken addon can register).
    const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync()[0]);
    return probe === 2 ? undefined : `a test computation returned ${String(probe)}`;
  } catch (error) {
    return `failed to initialise: ${firstLine(error)}`;
  }
}

/** Why a backend package did not load, in one line (exported for its tests). */
export function describeLoadError(error: unknown, provider: string): string {
  const code = (error as { code?: string }).code;
  const message = firstLine(error);
  // The package without its compiled addon (installed with scripts off, or its download failed):
  // tfjs-node throws a plain Error naming tfjs_binding.node.
  if (message.includes('tfjs_binding.node')) {
    return `${provider} is installed without its native addon (run \`npm run setup:native\` to build it)`;
  }
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    if (message.includes(provider)) return `${provider} is not installed`;
  }
  return `${provider} failed to load: ${message}`;
}

function usesGpu(tf: Tf, candidate: Candidate): boolean {
  if (candidate.provider !== '@tensorflow/tfjs-node-gpu') return false;
  const backend = tf.backend() as { isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice === true;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

export function describeChoice(choice: BackendChoice): string {
  const device = choice.name === 'tensorflow' ? (choice.gpu ? ' on GPU' : ' on CPU') : '';
  const why =
    choice.skipped.length === 0
      ? ''
      : ` (not used: ${choice.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})`;
  return `backend ${choice.name}${device} from ${choice.provider}${why}`;
}
