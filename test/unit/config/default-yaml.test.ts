import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { loadConfig, validateConfig } from '../../../src/config/load-config.js';

const FILE = new URL('../../../config/default.yaml', import.meta.url);

describe('config/default.yaml', () => {
  it('parses to exactly the schema defaults', () => {
    expect(loadConfig({ file: FILE.pathname, env: {} })).toEqual(validateConfig({}));
  });

  it('spells out every key the schema has, each with a comment above it', () => {
    const text = readFileSync(FILE, 'utf8');
    const fromFile = parse(text) as Record<string, unknown>;
    const defaults = validateConfig({}) as unknown as Record<string, unknown>;
    expect(keyPaths(fromFile)).toEqual(keyPaths(defaults));
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (/^\s*[A-Za-z]\w*:/.test(line)) {
        expect(
          lines[i - 1]?.trim().startsWith('#'),
          `undocumented key at line ${i + 1}: ${line}`,
        ).toBe(true);
      }
    });
  });
});

function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value)
    .flatMap(([k, v]) => keyPaths(v, prefix === '' ? k : `${prefix}.${k}`))
    .sort();
}
