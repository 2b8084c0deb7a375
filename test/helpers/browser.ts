/**
 * A real headless Chromium (Debian's `chromium` package) driven by playwright-core, for tests
 * of pages the pipeline serves. The machine has no network, so Chromium starts with every
 * background fetch turned off (it stalls on them otherwise) and a fresh profile per launch.
 *
 * Through describeWithComponent (real-component.ts): without the browser a suite is skipped
 * with the reason on a developer's machine and fails when CI=true (.ci/run installs the package).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext } from 'playwright-core';

import { describeWithComponent } from './real-component.js';

export const CHROMIUM_BIN = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumUnavailableReason(): string | undefined {
  const result = spawnSync(CHROMIUM_BIN, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (result.error !== undefined || result.status !== 0) {
    return `${CHROMIUM_BIN} is not runnable (${result.error?.message ?? `exit ${result.status}`}); install Debian's chromium package (apt-get install chromium)`;
  }
  return undefined;
}

/** `describe` for suites that need a browser: skipped with the reason locally, failing in CI. */
export function describeWithChromium(name: string, fn: () => void): void {
  describeWithComponent('Chromium', chromiumUnavailableReason(), name, fn);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile directory, removed again by close(). */
export async function launchChromium(viewport = { width: 1200, height: 800 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'streamclust-chromium-'));
  try {
    // A persistent context is how playwright takes a --user-data-dir of our choosing.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_BIN,
      headless: true,
      args: FLAGS,
      viewport,
      timeout: 60_000,
    });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
