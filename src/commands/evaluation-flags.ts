/**
 * The flags `evaluate` and `replay` share, and how they become a configuration. An evaluation
 * differs from `run` in a few defaults, each applied only where the user set nothing (flag,
 * `--set`, environment or config file):
 * - no HTTP server, no status line, log level warn (the progress bar shows progress);
 * - k = the number of distinct labels in the data, when labels exist (the metrics compare
 *   against them, and the reference baselines use the same k);
 * - warm-up = at most one pass, so the store starts, and training begins, within the first pass
 *   even for a small data set (wine has 178 records; the default warm-up is 1,000).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

import { applyEnvironment, loadConfig, parseValue, setPath } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { parseCommandFlags } from './command-line.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  help: string;
}

export const EVALUATION_FLAGS: Record<string, FlagSpec> = {
  config: {
    type: 'string',
    short: 'c',
    help: 'YAML configuration file (every key: config/default.yaml)',
  },
  set: {
    type: 'string',
    multiple: true,
    help: 'set any key: --set decode.standardize=true (repeatable)',
  },
  k: {
    type: 'string',
    help: 'number of clusters (default: the number of distinct labels, else 8)',
  },
  'batch-size': {
    type: 'string',
    help: 'records per micro-batch (default 256 here: one read of the file or replayed fetch)',
  },
  backend: { type: 'string', help: 'TensorFlow.js backend: auto, tensorflow, wasm or cpu' },
  'label-field': {
    type: 'string',
    help: 'record field with the ground-truth label (default label)',
  },
  passes: {
    type: 'string',
    help: 'read the data this many times through the same model (default 1)',
  },
  window: {
    type: 'string',
    help: 'records per metric window (default: a quarter of a pass, >= 100)',
  },
  report: {
    type: 'string',
    help: 'directory for report.json and report.html (default out/report)',
  },
  sample: {
    type: 'string',
    help: 'embeddings sampled for the internal metrics and plots (default 2000)',
  },
  'tsne-points': {
    type: 'string',
    help: 't-SNE layout of this many sampled points, 0 = off (default 500)',
  },
  train: { type: 'boolean', help: 'keep training while replaying (the default)' },
  frozen: { type: 'boolean', help: 'no training: model and store from --checkpoint' },
  checkpoint: { type: 'string', help: 'checkpoint directory to start from' },
  'log-level': { type: 'string', help: 'debug, info, warn (default), error or silent' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

const SHORTCUTS: Record<string, string> = {
  k: 'cluster.k',
  'batch-size': 'batch.size',
  backend: 'model.backend',
  'label-field': 'decode.labelField',
  'log-level': 'log.level',
};

export interface EvaluationFlags {
  values: Record<string, string | string[] | boolean | undefined>;
  file: string | undefined;
  overrides: Record<string, unknown>;
  passes: number;
  window: number | undefined;
  reportDir: string;
  sample: number;
  tsnePoints: number;
  mode: 'train' | 'frozen';
  checkpoint: string | undefined;
  help: boolean;
}

export function helpFor(usage: string, intro: string, flags: Record<string, FlagSpec>): string {
  const lines = Object.entries(flags).map(([name, flag]) => {
    const short = flag.short === undefined ? '    ' : `-${flag.short}, `;
    const value = flag.type === 'string' ? ' <value>' : '';
    return `  ${short}--${(name + value).padEnd(24)} ${flag.help}`;
  });
  return [intro, '', `Usage: ${usage}`, '', 'Options:', ...lines].join('\n');
}

function positiveInteger(
  flag: string,
  text: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (Number.isInteger(value) && value >= min) return value;
  throw new ConfigError([
    {
      key: `--${flag}`,
      value: JSON.stringify(text),
      rule: `must be an integer >= ${min}`,
      fix: `pass --${flag} with a whole number of at least ${min}`,
    },
  ]);
}

export function parseEvaluationFlags(
  command: string,
  argv: readonly string[],
  extra: Record<string, FlagSpec>,
  base: Record<string, FlagSpec> = EVALUATION_FLAGS,
): EvaluationFlags {
  const specs = { ...base, ...extra };
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, f]) => [
      name,
      {
        type: f.type,
        ...(f.short === undefined ? {} : { short: f.short }),
        ...(f.multiple ? { multiple: true } : {}),
      },
    ]),
  );
  const values: EvaluationFlags['values'] = parseCommandFlags(command, argv, options as never)
    .values as never;
  if (values['train'] === true && values['frozen'] === true) {
    throw new ConfigError([
      {
        key: '--frozen',
        value: 'with --train',
        rule: 'a replay either trains or is frozen',
        fix: 'pass one of --train and --frozen',
      },
    ]);
  }
  const overrides: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(SHORTCUTS)) {
    const value = values[flag];
    if (typeof value === 'string') overrides[key] = parseValue(key, value);
  }
  for (const assignment of (values['set'] as string[] | undefined) ?? []) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError([
        {
          key: '--set',
          value: JSON.stringify(assignment),
          rule: 'must have the form key=value',
          fix: 'e.g. --set batch.size=512',
        },
      ]);
    }
    const key = assignment.slice(0, eq).trim();
    overrides[key] = parseValue(key, assignment.slice(eq + 1));
  }
  const window = values['window'] as string | undefined;
  return {
    values,
    file: values['config'] as string | undefined,
    overrides,
    passes: positiveInteger('passes', values['passes'] as string | undefined, 1),
    window: window === undefined ? undefined : positiveInteger('window', window, 1),
    reportDir: (values['report'] as string | undefined) ?? 'out/report',
    sample: positiveInteger('sample', values['sample'] as string | undefined, 2000),
    tsnePoints: positiveInteger('tsne-points', values['tsne-points'] as string | undefined, 500, 0),
    mode: values['frozen'] === true ? 'frozen' : 'train',
    checkpoint: values['checkpoint'] as string | undefined,
    help: values['help'] === true,
  };
}

/** Keys the user set anywhere: flags, --set, environment or config file. */
export function userSetKeys(flags: EvaluationFlags, env = process.env): (key: string) => boolean {
  const raw: Record<string, unknown> =
    flags.file === undefined
      ? {}
      : ((parseYaml(readFileSync(flags.file, 'utf8'), { schema: 'core' }) as Record<
          string,
          unknown
        > | null) ?? {});
  applyEnvironment(raw, env);
  for (const [key, value] of Object.entries(flags.overrides)) setPath(raw, key, value);
  return (key) => {
    let node: unknown = raw;
    for (const part of key.split('.')) {
      if (typeof node !== 'object' || node === null || !(part in node)) return false;
      node = (node as Record<string, unknown>)[part];
    }
    return true;
  };
}

/** The configuration with the evaluation defaults the user did not override. */
export function evaluationConfig(
  flags: EvaluationFlags,
  extraOverrides: Record<string, unknown>,
  defaults: Record<string, unknown> = {},
): Config {
  const isSet = userSetKeys(flags);
  const evalDefaults: Record<string, unknown> = {
    'http.enabled': false,
    'log.statusIntervalMs': 0,
    'log.level': 'warn',
    // Seeded evaluations give the same figures every time: each batch waits for its training,
    // and a batch is one read of 256 records, never what happened to arrive meanwhile.
    'training.schedule': 'inline',
    'batch.size': 256,
    ...defaults,
  };
  const applied = Object.fromEntries(Object.entries(evalDefaults).filter(([key]) => !isSet(key)));
  return loadConfig({
    ...(flags.file === undefined ? {} : { file: flags.file }),
    overrides: { ...applied, ...extraOverrides, ...flags.overrides },
  });
}
