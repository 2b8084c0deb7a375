/**
 * The native TensorFlow backend in tests. It is built by `npm run setup:native` (.ci/run runs it),
 * so the suite trains on the backend users get; `model.backend: auto` then picks it everywhere.
 *
 * Through describeWithComponent (real-component.ts): a suite that needs it is skipped with the
 * reason on a developer's machine without the addon, and fails when CI=true.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describeWithComponent } from './real-component.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

let cached: { reason: string | undefined } | undefined;

/**
 * Why the native backend cannot run here, or undefined when it can. Asked in a child process:
 * loading the addon registers its backend in this one for good.
 */
export function nativeUnavailableReason(): string | undefined {
  if (cached !== undefined) return cached.reason;
  const probe = `
    const tf = require('@tensorflow/tfjs-node');
    const v = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync()[0]);
    if (tf.getBackend() !== 'tensorflow' || v !== 2) throw new Error('backend ' + tf.getBackend() + ' computed ' + v);`;
  const result = spawnSync(process.execPath, ['-e', probe], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  const reason =
    result.status === 0
      ? undefined
      : `@tensorflow/tfjs-node does not load (${lastErrorLine(result.stderr) ?? result.error?.message ?? `exit ${result.status}`}); build it with \`npm run setup:native\``;
  cached = { reason };
  return reason;
}

function lastErrorLine(stderr: string | undefined): string | undefined {
  return stderr
    ?.split('\n')
    .map((l) => l.trim())
    .find((l) => /^(Error|TypeError)\b/.test(l));
}

/** `describe` for suites that need the native backend: skipped with the reason locally, failing in CI. */
export function describeWithNativeBackend(name: string, fn: () => void): void {
  describeWithComponent('the native TensorFlow backend', nativeUnavailableReason(), name, fn);
}
