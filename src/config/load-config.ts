/**
 * Loads the configuration once at start: defaults (from the schema) ← YAML file ← environment
 * (`STREAMCLUST_<SECTION>__<KEY>`, plus `KAFKA_BROKERS`) ← CLI overrides, then validates it.
 * An invalid value throws a ConfigError naming the key, the value (never a secret's: see
 * SECRET_KEYS), the rule and the fix.
 *
 * The YAML file is parsed as data only (the `yaml` package with the core schema): nothing in a
 * config file is ever evaluated as code.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

import { ConfigError, type ConfigProblem } from '../errors.js';
import { closest, editDistance } from './closest.js';
import { configSchema, FIXES, MAX_TIMER_MS, SECRET_KEYS, type Config } from './schema.js';

export interface LoadConfigOptions {
  /** Path of a YAML config file; omitted: defaults only. */
  file?: string;
  /** Environment to read overrides from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides by dotted key (`batch.size`), applied last: CLI flags and `--set key=value`. */
  overrides?: Readonly<Record<string, unknown>>;
}

export type RawConfig = Record<string, unknown>;

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const raw: RawConfig = options.file === undefined ? {} : readConfigFile(options.file);
  applyEnvironment(raw, options.env ?? process.env);
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(raw, key, value);
  return validateConfig(raw);
}

export function validateConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.flatMap((issue) => describeIssue(issue, raw)));
}

function readConfigFile(file: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([
      {
        key: '--config',
        value: JSON.stringify(file),
        rule: `the file cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        fix: 'pass the path of an existing YAML file, e.g. --config config/default.yaml',
      },
    ]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { schema: 'core', prettyErrors: true });
  } catch (error) {
    throw new ConfigError([
      {
        key: '--config',
        value: JSON.stringify(file),
        rule: `it is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
        fix: 'correct the YAML syntax at the position shown',
      },
    ]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([
      {
        key: '--config',
        value: JSON.stringify(file),
        rule: 'the top level must be a mapping of sections (source, kafka, batch, ...)',
        fix: 'start from config/default.yaml',
      },
    ]);
  }
  return parsed as RawConfig;
}

const ENV_PREFIX = 'STREAMCLUST_';

/**
 * `STREAMCLUST_BATCH__MAX_WAIT_MS=500` sets `batch.maxWaitMs`: `__` separates the path,
 * and each segment matches a key case-insensitively with its underscores removed. Values are
 * read by `parseValue`: text for string keys, YAML scalars (numbers, booleans, `[a, b]`) else.
 */
export function applyEnvironment(
  raw: RawConfig,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const brokers = env['KAFKA_BROKERS'];
  if (brokers !== undefined && brokers.trim() !== '') {
    setPath(
      raw,
      'kafka.brokers',
      brokers
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== ''),
    );
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const segments = name.slice(ENV_PREFIX.length).split('__');
    const path = resolveEnvPath(segments)?.join('.');
    if (path === undefined) {
      throw new ConfigError([
        {
          key: name,
          value: looksSecret(name) ? REDACTED : JSON.stringify(value),
          rule: 'this environment variable names no configuration key',
          fix: envSuggestion(segments),
        },
      ]);
    }
    setPath(raw, path, parseValue(path, value));
  }
}

/**
 * The configuration keys an environment variable's segments name, matched case-insensitively
 * without underscores; `nearest` also takes, per segment, the closest key by edit distance
 * (for the suggestion when nothing matches exactly).
 */
function resolveEnvPath(segments: string[], nearest = false): string[] | undefined {
  let shape: Record<string, z.ZodType> | undefined = schemaShape(configSchema);
  const keys: string[] = [];
  for (const segment of segments) {
    if (shape === undefined) return undefined;
    const names = Object.keys(shape);
    const lower = names.map((k) => k.toLowerCase());
    const wanted = segment.replaceAll('_', '').toLowerCase();
    const guess = lower.includes(wanted) ? wanted : nearest ? closest(wanted, lower) : undefined;
    if (guess === undefined) return undefined;
    const key = names[lower.indexOf(guess)]!;
    keys.push(key);
    shape = schemaShape(shape[key]);
  }
  return keys;
}

/** The fix for an environment variable that names no key: the nearest variable that does. */
function envSuggestion(segments: string[]): string {
  const keys = resolveEnvPath(segments, true);
  if (keys === undefined) {
    return 'use STREAMCLUST_<SECTION>__<KEY>, e.g. STREAMCLUST_BATCH__SIZE=512, or unset it';
  }
  const names = keys.map((key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase());
  return `did you mean ${ENV_PREFIX}${names.join('__')}? Otherwise unset it`;
}

/** The object shape under a schema, looking through defaults, prefaults and refinements. */
function schemaShape(schema: unknown): Record<string, z.ZodType> | undefined {
  let current = schema as {
    def?: { type?: string; innerType?: unknown; shape?: unknown; in?: unknown };
  };
  for (let depth = 0; depth < 8 && current?.def !== undefined; depth++) {
    const def = current.def;
    if (def.type === 'object') return def.shape as Record<string, z.ZodType>;
    current = (def.innerType ?? def.in) as typeof current;
  }
  return undefined;
}

/**
 * The value of the key `dotted` given as text (an environment variable, `--set`, a flag). A key
 * whose schema type is a string or an enumeration takes the text verbatim: read as YAML, ` #`
 * would start a comment and cut a token short, quotes would vanish, and `123456789` or `true`
 * would stop being strings. Other keys read the text as a YAML scalar, so numbers, booleans and
 * `[a, b]` lists work.
 */
export function parseValue(dotted: string, text: string): unknown {
  assertSafeKey(dotted, text);
  if (takesText(shapeAt(dotted.split('.')))) return text;
  try {
    return parseYaml(text, { schema: 'core' }) as unknown;
  } catch {
    return text;
  }
}

function takesText(schema: unknown): boolean {
  let current = schema as { def?: { type?: string; innerType?: unknown; in?: unknown } };
  for (let depth = 0; depth < 8 && current?.def !== undefined; depth++) {
    const { type, innerType } = current.def;
    if (type === 'string' || type === 'enum') return true;
    current = (innerType ?? current.def.in) as typeof current;
  }
  return false;
}

/** Path segments that would reach (and change) Object.prototype through `setPath`. */
const UNSAFE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

function assertSafeKey(dotted: string, value: unknown): void {
  if (!dotted.split('.').some((segment) => UNSAFE_SEGMENTS.has(segment))) return;
  throw new ConfigError([
    {
      key: dotted,
      value: renderValue(dotted, { found: true, value }),
      rule: 'no key is named __proto__, constructor or prototype (such a path would change every object in the process)',
      fix: 'remove it; config/default.yaml lists every key',
    },
  ]);
}

export function setPath(target: RawConfig, dotted: string, value: unknown): void {
  assertSafeKey(dotted, value);
  const keys = dotted.split('.');
  let node: RawConfig = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as RawConfig;
  }
  node[keys[keys.length - 1] as string] = value;
}

function getPath(
  target: unknown,
  path: readonly PropertyKey[],
): { found: boolean; value: unknown } {
  let node: unknown = target;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !(key in node))
      return { found: false, value: undefined };
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: node };
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem[] {
  const path = issue.path.map(String);
  const key = path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((unknownKey) => {
      const full = [...path, unknownKey].join('.');
      const siblings = Object.keys(schemaShape(shapeAt(path)) ?? {});
      const guess = closest(unknownKey, siblings);
      return {
        key: full,
        value: looksSecret(full)
          ? REDACTED
          : renderValue(full, getPath(raw, [...path, unknownKey])),
        rule: 'unknown key',
        fix:
          guess === undefined
            ? `remove it; the keys here are: ${siblings.join(', ')}`
            : `did you mean ${[...path, guess].join('.')}? Otherwise remove it`,
      };
    });
  }
  const timer = issue.code === 'too_big' && issue.maximum === MAX_TIMER_MS;
  return [
    {
      key,
      value: renderValue(
        key,
        issue.code === 'custom' && issue.params !== undefined && 'value' in issue.params
          ? { found: true, value: issue.params['value'] }
          : getPath(raw, issue.path),
      ),
      rule: timer
        ? `must be <= ${MAX_TIMER_MS} (about 24.8 days), the longest delay a Node.js timer holds; a longer one fires after 1 ms`
        : describeRule(issue),
      fix: timer
        ? `set ${key} to at most ${MAX_TIMER_MS} milliseconds`
        : (FIXES[key] ?? `see the documentation of ${key} in config/default.yaml`),
    },
  ];
}

function shapeAt(path: readonly string[]): unknown {
  let schema: unknown = configSchema;
  for (const key of path) schema = schemaShape(schema)?.[key];
  return schema;
}

function describeRule(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_type':
      return `must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message;
  }
}

function article(type: string): string {
  if (type === 'int') return 'an integer';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

const REDACTED = '<redacted>';

/**
 * Whether an unknown key or environment variable is probably a secret, misspelt or not
 * (`kafka.sasl.pasword`, `STREAMCLUST_KAFKA__SASL__PASWORD`): its value is not echoed either.
 */
function looksSecret(name: string): boolean {
  if (/pass|secret|token|auth|cred|key/i.test(name)) return true;
  const squash = (text: string): string =>
    text
      .toLowerCase()
      .replace(/^streamclust_/, '')
      .replace(/[^a-z0-9]/g, '');
  return [...SECRET_KEYS].some((key) => editDistance(squash(name), squash(key)) <= 2);
}

/** The value for an error message; a secret's is never shown (an empty one is, as `""`). */
function renderValue(key: string, lookup: { found: boolean; value: unknown }): string {
  if (!lookup.found) return '<missing>';
  if (SECRET_KEYS.has(key) && lookup.value !== '') return REDACTED;
  const json = JSON.stringify(lookup.value);
  return json === undefined ? String(lookup.value) : json;
}
