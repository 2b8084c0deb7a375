import { afterEach, describe, expect, it } from 'vitest';

import { loadConfig, parseValue } from '../../../src/config/load-config.js';
import { parseCommandLine } from '../../../src/commands/run.js';
import { parseEvaluationFlags } from '../../../src/commands/evaluation-flags.js';
import { MAX_TIMER_MS } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';

/** The message of the ConfigError that `load` throws. */
function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const SASL = {
  STREAMCLUST_KAFKA__SASL__MECHANISM: 'plain',
  STREAMCLUST_KAFKA__SASL__USERNAME: 'u',
};

describe('string keys take text verbatim', () => {
  it('keeps " #" and everything after it in a secret from the environment', () => {
    const config = loadConfig({
      env: {
        ...SASL,
        STREAMCLUST_KAFKA__SASL__PASSWORD: 'abc #def',
        STREAMCLUST_HTTP__AUTH_TOKEN: "'quoted' # not a comment",
      },
    });
    expect(config.kafka.sasl.password).toBe('abc #def');
    expect(config.http.authToken).toBe("'quoted' # not a comment");
  });

  it('keeps digits, true and surrounding spaces of a string key as text', () => {
    const config = loadConfig({
      env: {
        ...SASL,
        STREAMCLUST_KAFKA__SASL__USERNAME: '123456789',
        STREAMCLUST_KAFKA__SASL__PASSWORD: ' true ',
        STREAMCLUST_KAFKA__INPUT_TOPIC: '2024',
      },
    });
    expect(config.kafka.sasl.username).toBe('123456789');
    expect(config.kafka.sasl.password).toBe(' true ');
    expect(config.kafka.inputTopic).toBe('2024');
  });

  it('still parses numbers, booleans and lists for keys of those types', () => {
    const config = loadConfig({
      env: {
        STREAMCLUST_BATCH__SIZE: '512',
        STREAMCLUST_KAFKA__SSL__ENABLED: 'true',
        STREAMCLUST_DECODE__FIELDS: '[a, b]',
        STREAMCLUST_DECODE__SCHEMA_VERSIONS: '[1, v2]',
      },
    });
    expect(config.batch.size).toBe(512);
    expect(config.kafka.ssl.enabled).toBe(true);
    expect(config.decode.fields).toEqual(['a', 'b']);
    expect(config.decode.schemaVersions).toEqual([1, 'v2']);
  });

  it('--set and flags of run, evaluate and replay take a string key verbatim', () => {
    const run = parseCommandLine([
      'run',
      '--topic',
      '2024',
      '--set',
      'kafka.sasl.password=123456789 #x',
      '--set',
      'batch.size=64',
    ]);
    expect(run.overrides).toMatchObject({
      'kafka.inputTopic': '2024',
      'kafka.sasl.password': '123456789 #x',
      'batch.size': 64,
    });
    const evaluate = parseEvaluationFlags(
      'evaluate',
      ['--label-field', '42', '--set', 'http.authToken=true'],
      {},
    );
    expect(evaluate.overrides).toMatchObject({
      'decode.labelField': '42',
      'http.authToken': 'true',
    });
  });

  it('parseValue keeps text for strings and enumerations, parses the rest', () => {
    expect(parseValue('kafka.sasl.password', '007')).toBe('007');
    expect(parseValue('training.mode', 'off')).toBe('off');
    expect(parseValue('batch.maxWaitMs', '50')).toBe(50);
    expect(parseValue('kafka.fromBeginning', 'false')).toBe(false);
  });
});

describe('errors never echo a secret', () => {
  it('redacts a secret of the wrong type from a config value', () => {
    const message = errorOf(() =>
      loadConfig({ env: {}, overrides: { 'kafka.sasl.password': 123456789 } }),
    );
    expect(message).toContain('  - kafka.sasl.password: <redacted> is invalid: must be a string.');
    expect(message).not.toContain('123456789');
  });

  it('redacts the value of an unknown key that looks like a secret, and of its environment variable', () => {
    const fromSet = errorOf(() =>
      loadConfig({ env: {}, overrides: { 'kafka.sasl.pasword': 'hunter2' } }),
    );
    expect(fromSet).toContain('  - kafka.sasl.pasword: <redacted> is invalid: unknown key.');
    const fromEnv = errorOf(() =>
      loadConfig({ env: { STREAMCLUST_KAFKA__SASL__PASWORD: 'hunter2' } }),
    );
    expect(fromEnv).toContain('  - STREAMCLUST_KAFKA__SASL__PASWORD: <redacted> is invalid');
    expect(fromSet + fromEnv).not.toContain('hunter2');
  });
});

describe('timer values are bounded by what Node can schedule', () => {
  const timerKeys = [
    'kafka.sessionTimeoutMs',
    'kafka.heartbeatIntervalMs',
    'kafka.connectionTimeoutMs',
    'kafka.lagIntervalMs',
    'kafka.writeTimeoutMs',
    'cluster.warmupMaxWaitMs',
    'shutdown.timeoutMs',
    'log.statusIntervalMs',
  ];

  it('rejects shutdown.timeoutMs above 2^31 - 1 naming the key, the maximum and the fix', () => {
    expect(errorOf(() => loadConfig({ env: {}, overrides: { 'shutdown.timeoutMs': 3e9 } }))).toBe(
      'invalid configuration (1 problem):\n' +
        '  - shutdown.timeoutMs: 3000000000 is invalid: must be <= 2147483647 (about 24.8 days), ' +
        'the longest delay a Node.js timer holds; a longer one fires after 1 ms. ' +
        'Fix: set shutdown.timeoutMs to at most 2147483647 milliseconds',
    );
  });

  it.each(timerKeys)('bounds %s', (key) => {
    const overrides: Record<string, unknown> = { [key]: MAX_TIMER_MS + 1 };
    if (key === 'kafka.heartbeatIntervalMs') overrides['kafka.sessionTimeoutMs'] = MAX_TIMER_MS;
    expect(errorOf(() => loadConfig({ env: {}, overrides }))).toContain(
      `  - ${key}: 2147483648 is invalid: must be <= 2147483647`,
    );
  });

  it('accepts the maximum itself', () => {
    expect(
      loadConfig({ env: {}, overrides: { 'shutdown.timeoutMs': MAX_TIMER_MS } }).shutdown.timeoutMs,
    ).toBe(MAX_TIMER_MS);
  });
});

describe('keys that would reach Object.prototype are refused', () => {
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>)['polluted'];
  });

  it.each(['__proto__.polluted', 'constructor.prototype.polluted', 'batch.__proto__.polluted'])(
    '--set %s=1',
    (key) => {
      const message = errorOf(() => parseCommandLine(['run', '--set', `${key}=1`]));
      expect(message).toContain(`  - ${key}: "1" is invalid: `);
      expect(message).toContain('__proto__, constructor or prototype');
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    },
  );

  it('in overrides given to loadConfig', () => {
    const message = errorOf(() => loadConfig({ env: {}, overrides: { '__proto__.polluted': 1 } }));
    expect(message).toContain('  - __proto__.polluted: 1 is invalid: ');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('in --set of evaluate', () => {
    const message = errorOf(() =>
      parseEvaluationFlags('evaluate', ['--set', 'prototype.polluted=1'], {}),
    );
    expect(message).toContain(`  - prototype.polluted: "1" is invalid: `);
  });

  it.each(['STREAMCLUST___PROTO____POLLUTED', 'STREAMCLUST_CONSTRUCTOR__PROTOTYPE__POLLUTED'])(
    'in the environment: %s',
    (name) => {
      const message = errorOf(() => loadConfig({ env: { [name]: '1' } }));
      expect(message).toContain(`  - ${name}: `);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    },
  );
});
