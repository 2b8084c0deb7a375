/**
 * `npm pack` on a clean checkout ships what `bin`, `main` and `types` point at: `prepack`
 * builds dist/ first (a checkout has none; it is not committed). Packed from a copy of the
 * working tree without dist/, so a dist/ left by an earlier `npm start` cannot hide a missing build.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../helpers/cli-process.js';

describe('npm pack', () => {
  it('builds dist/ before packing and ships the entry points, the licence and the changelog', () => {
    const copy = mkdtempSync(join(tmpdir(), 'streamclust-pack-'));
    try {
      const tracked = execFileSync(
        'git',
        ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
        { cwd: REPO_ROOT, encoding: 'utf8' },
      )
        .split('\0')
        .filter((file) => file !== '' && existsSync(join(REPO_ROOT, file)));
      for (const file of tracked) {
        mkdirSync(dirname(join(copy, file)), { recursive: true });
        cpSync(join(REPO_ROOT, file), join(copy, file));
      }
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
      expect(existsSync(join(copy, 'dist'))).toBe(false);

      const output = execFileSync('npm', ['pack', '--dry-run', '--json'], {
        cwd: copy,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const files = new Set(
        (JSON.parse(output) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path),
      );
      const pkg = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
        main: string;
        types: string;
      };
      for (const entry of [pkg.bin['streamclust']!, pkg.main, pkg.types]) {
        expect(files, entry).toContain(entry.replace(/^\.\//, ''));
      }
      for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md', 'config/default.yaml']) {
        expect(files, file).toContain(file);
      }
      expect([...files].some((f) => f.startsWith('workers/'))).toBe(true);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 120_000);
});
