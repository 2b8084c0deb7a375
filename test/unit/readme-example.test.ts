/**
 * The README's library example, run as it stands: the block after the "runnable example"
 * marker, with `from 'streamclust'` pointed at this checkout's src/index.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../helpers/cli-process.js';

describe('README library example', () => {
  it('runs and prints what the README says it prints', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /<!-- runnable example: [^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'the runnable example block').toBeDefined();
    expect(block).toContain("from 'streamclust'");
    const promised = /prints `([^`]+)`:\s*\n\s*<!-- runnable example/.exec(readme)?.[1];
    expect(promised).toBe('20000 records, NMI 1.00');

    const dir = mkdtempSync(join(tmpdir(), 'streamclust-readme-'));
    try {
      const script = join(dir, 'example.mts');
      writeFileSync(
        script,
        block!.replace("from 'streamclust'", `from '${join(REPO_ROOT, 'src', 'index.ts')}'`),
      );
      // tsx from this checkout; the example's working directory is a scratch one.
      const tsx = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
      const stdout = execFileSync(process.execPath, ['--import', tsx, script], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 90_000,
      });
      expect(stdout.trim()).toBe(promised);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
