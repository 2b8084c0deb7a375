import { fileURLToPath } from 'node:url';

/**
 * Where a worker entry point of `workers/` is: from source (vitest, tsx) the .ts file, loaded
 * through tsx; built, the .js beside the built sources.
 */
export function workerLocation(name: string): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = new URL(`../workers/${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  return { filename: fileURLToPath(file), execArgv: fromSource ? ['--import', 'tsx'] : [] };
}
