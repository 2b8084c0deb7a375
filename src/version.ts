/**
 * streamclust's version, read once from its package.json (the one above this module, in the
 * source tree as in `dist/`), for `--version`, `streamclust_build_info` and the logs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function streamclustVersion(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'streamclust' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // Not here: look one folder up.
    }
    dir = path.dirname(dir);
  }
  cached = 'unknown';
  return cached;
}
