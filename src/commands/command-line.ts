/**
 * The command line's own errors, in the words of a configuration error: a misspelt flag is named
 * with the nearest real one (`--lables`: did you mean --labels?) instead of Node's parser text.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { closest } from '../config/closest.js';
import { ConfigError } from '../errors.js';

/** `parseArgs` in strict mode; its errors become a ConfigError for `streamclust <command>`. */
export function parseCommandFlags(
  command: string,
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = false,
): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (error) {
    throw new ConfigError([
      flagProblem(command, argv, options, error as Error & { code?: string }),
    ]);
  }
}

function flagProblem(
  command: string,
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  error: Error & { code?: string },
) {
  const help = `streamclust ${command} --help lists the options`;
  const names = Object.keys(options);
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // Node quotes the option as given: "Unknown option '--lables'".
    const given = /'(-[^']*)'/.exec(error.message)?.[1] ?? '?';
    const bare = given.replace(/^-+/, '').split('=')[0] ?? '';
    const guess = given.startsWith('--') ? closest(bare, names) : undefined;
    return {
      key: 'command line',
      value: given,
      rule: 'unknown option',
      fix: guess === undefined ? help : `did you mean --${guess}? (${help})`,
    };
  }
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const given = /'([^']*)'/.exec(error.message)?.[1] ?? '?';
    return {
      key: 'command line',
      value: JSON.stringify(given),
      rule: `streamclust ${command} takes no arguments without a flag`,
      fix: `put a flag before it (${help})`,
    };
  }
  // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: a value flag without its value, or a value to a switch.
  return {
    key: 'command line',
    value: JSON.stringify(argv.join(' ')),
    rule: error.message.replace(/\.$/, ''),
    fix: help,
  };
}
