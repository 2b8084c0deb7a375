import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Where a worker entry point of `workers/` is: from source (vitest, tsx) the .ts file, loaded
 * through tsx; built, the .js beside the built sources.
 */
export function workerLocation(name: string): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = new URL(`../workers/${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  return { filename: fileURLToPath(file), execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

/**
 * A plain worker thread on an entry point of `workers/`. From source the entry is required by a
 * two-line script after tsx's CommonJS hook is registered in the thread: `--import tsx` alone
 * does not make a worker thread load a .ts entry (Node refuses the extension). Piscina's pools
 * load theirs through require too. Such an entry has no top-level await.
 */
export function startWorker(name: string, options: Omit<WorkerOptions, 'execArgv' | 'eval'> = {}) {
  const { filename, execArgv } = workerLocation(name);
  if (execArgv.length === 0) return new Worker(filename, options);
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs');
  const script = `require(${JSON.stringify(tsx)});\nrequire(${JSON.stringify(filename)});`;
  return new Worker(script, { ...options, eval: true, execArgv });
}
