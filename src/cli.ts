#!/usr/bin/env node
/**
 * streamclust's command line: dispatches `streamclust <command> [options]` to the command's
 * module in src/commands/ and turns typed errors into exit codes (78 for configuration errors,
 * as sysexits' EX_CONFIG; 69, EX_UNAVAILABLE, when Kafka or the disk refused for good or the
 * pipeline stalled; 1 otherwise; 2 for a usage error).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { COMMANDS } from './commands/index.js';
import { closest } from './config/closest.js';
import {
  ConfigError,
  EXIT_REFUSED,
  StreamclustError,
  describeExpectedFailure,
  describeRefusal,
} from './errors.js';
import { streamclustVersion } from './version.js';

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'streamclust: continuously clusters an event stream and watches the clusters drift.',
    '',
    'Usage: streamclust <command> [options]   (streamclust <command> --help for its options)',
    '       streamclust --version',
    '',
    'Any command takes --debug: stack traces for failures that are otherwise one line.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function main(args: readonly string[]): Promise<number> {
  // --debug anywhere: stack traces for the failures that are otherwise one line.
  const debug = args.includes('--debug');
  const argv = args.filter((arg) => arg !== '--debug');
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      process.stdout.write(usage() + '\n');
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V') {
      process.stdout.write(`streamclust ${streamclustVersion()} (Node.js ${process.version})\n`);
      return 0;
    }
    const command = COMMANDS[name];
    if (command === undefined) {
      const guess = closest(name.replace(/^-+/, ''), Object.keys(COMMANDS));
      const hint = guess === undefined ? '' : `: did you mean streamclust ${guess}?`;
      process.stderr.write(`streamclust: unknown command "${name}"${hint}\n\n${usage()}\n`);
      return 2;
    }
    return await command.main(rest);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`streamclust: ${error.message}\n`);
      return 78;
    }
    const refusal = describeRefusal(error);
    if (refusal !== undefined) {
      process.stderr.write(`streamclust: stopped: ${refusal}\n`);
      return EXIT_REFUSED;
    }
    if (error instanceof StreamclustError) {
      process.stderr.write(`streamclust: ${error.message}\n`);
      return 1;
    }
    const expected = describeExpectedFailure(error);
    if (expected !== undefined) {
      process.stderr.write(`streamclust: stopped: ${expected}\n`);
      if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
      return EXIT_REFUSED;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`streamclust: unexpected error: ${detail}\n`);
    return 1;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = await main(process.argv.slice(2));
  // Let stdout drain and handles close; if a library keeps the loop alive, leave anyway.
  setTimeout(() => process.exit(), 3_000).unref();
}
