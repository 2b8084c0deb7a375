import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/config/load-config.js';
import { ConfigError } from '../../../src/errors.js';

/** The message of the ConfigError that loading with these overrides throws. */
function errorFor(overrides: Record<string, unknown>, env: Record<string, string> = {}): string {
  try {
    loadConfig({ env, overrides });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration rules: one test per rule, message pinned', () => {
  it('a value below the minimum names key, value, rule and fix', () => {
    expect(errorFor({ 'batch.size': 0 })).toBe(
      'invalid configuration (1 problem):\n' +
        '  - batch.size: 0 is invalid: must be >= 1. Fix: set batch.size to an integer from 1 to 65536 (default 1024), or pass --batch-size N',
    );
  });

  it('a value above the maximum', () => {
    expect(errorFor({ 'http.port': 70000 })).toBe(
      'invalid configuration (1 problem):\n' +
        '  - http.port: 70000 is invalid: must be <= 65535. Fix: set http.port to a TCP port from 0 to 65535 (0 picks a free one), or pass --port N',
    );
  });

  it('a fraction where an integer is required', () => {
    expect(errorFor({ 'cluster.k': 2.5 })).toContain(
      '  - cluster.k: 2.5 is invalid: must be an integer. Fix: set cluster.k to the number of clusters, an integer from 1 to 10000, or pass --k N',
    );
  });

  it('a value of the wrong type', () => {
    expect(errorFor({ 'batch.maxWaitMs': 'soon' })).toContain(
      '  - batch.maxWaitMs: "soon" is invalid: must be a number. Fix: set batch.maxWaitMs to a positive number of milliseconds (default 200)',
    );
  });

  it('a value outside an enumeration lists the allowed values', () => {
    expect(errorFor({ 'model.backend': 'gpu' })).toContain(
      '  - model.backend: "gpu" is invalid: must be one of auto, tensorflow, wasm, cpu. Fix: set model.backend to auto (best that loads), tensorflow, wasm or cpu, or pass --backend NAME',
    );
  });

  it('an unknown key suggests the closest known one', () => {
    expect(errorFor({ 'batch.sise': 3 })).toContain(
      '  - batch.sise: 3 is invalid: unknown key. Fix: did you mean batch.size? Otherwise remove it',
    );
  });

  it('an unknown key with no close match lists the keys of its section', () => {
    expect(errorFor({ 'batch.zzzzzzzz': 1 })).toContain(
      '  - batch.zzzzzzzz: 1 is invalid: unknown key. Fix: remove it; the keys here are: size, maxWaitMs, maxInFlight',
    );
  });

  it('a kafka source without brokers', () => {
    expect(errorFor({ source: 'kafka', 'kafka.inputTopic': 'events' })).toBe(
      'invalid configuration (1 problem):\n' +
        '  - kafka.brokers: [] is invalid: must list at least one broker when the source or a sink is kafka. ' +
        'Fix: set kafka.brokers (e.g. [localhost:9092]) in the config file, or KAFKA_BROKERS=host:port, or --brokers host:port',
    );
  });

  it('a kafka source without an input topic', () => {
    expect(errorFor({ source: 'kafka', 'kafka.brokers': ['localhost:9092'] })).toContain(
      '  - kafka.inputTopic: "" is invalid: must name the topic to consume when source is kafka. Fix: set kafka.inputTopic, or pass --topic NAME',
    );
  });

  it('group sync without a Kafka source', () => {
    expect(errorFor({ 'sync.enabled': true })).toBe(
      'invalid configuration (1 problem):\n' +
        '  - sync.enabled: true is invalid: needs source: kafka: the instances of a group share partitions and state through Kafka. Fix: set source: kafka (with kafka.brokers and kafka.inputTopic), or sync.enabled: false',
    );
  });

  it('a file source without a path', () => {
    expect(errorFor({ source: 'file' })).toContain(
      '  - file.path: "" is invalid: must name a JSONL or CSV file when source is file. Fix: set file.path, or pass --file PATH',
    );
  });

  it('a heartbeat interval not below the session timeout (kafkajs rule)', () => {
    expect(errorFor({ 'kafka.heartbeatIntervalMs': 40_000 })).toContain(
      '  - kafka.heartbeatIntervalMs: 40000 is invalid: must be lower than kafka.sessionTimeoutMs (30000). ' +
        'Fix: set kafka.heartbeatIntervalMs lower than kafka.sessionTimeoutMs; about a third of it is recommended',
    );
  });

  it('a declared dimension that contradicts the declared fields', () => {
    expect(errorFor({ 'decode.fields': ['a', 'b'], 'decode.dim': 3 })).toContain(
      '  - decode.dim: 3 is invalid: must equal the number of decode.fields (2) or be 0. ' +
        'Fix: set decode.dim to the number of decode.fields, or to 0 to take it from the data',
    );
  });

  it('a schema version field without accepted versions', () => {
    expect(errorFor({ 'decode.schemaVersionField': 'v' })).toContain(
      '  - decode.schemaVersions: [] is invalid: must list the accepted versions when decode.schemaVersionField is set. ' +
        'Fix: list the versions this configuration decodes, e.g. [1, 2], or set decode.schemaVersionField to an empty string',
    );
  });

  it('a warm-up sample smaller than k', () => {
    expect(errorFor({ 'cluster.k': 10, 'cluster.warmupSize': 5 })).toContain(
      '  - cluster.warmupSize: 5 is invalid: must be at least cluster.k (10): k-means++ picks its k seeds among the warm-up records. ' +
        'Fix: set cluster.warmupSize to at least cluster.k, 10 × k or more is better (default 1000)',
    );
  });

  it('a reservoir smaller than k', () => {
    expect(errorFor({ 'cluster.k': 10, 'cluster.reservoirSize': 5 })).toContain(
      '  - cluster.reservoirSize: 5 is invalid: must be at least cluster.k (10): the reservoir holds the points k-means++ seeds from. ' +
        'Fix: set cluster.reservoirSize to at least cluster.k, 10 × k or more is better (default 1000)',
    );
  });

  it('an adaptive-k bound below k', () => {
    expect(
      errorFor({ 'cluster.k': 10, 'cluster.adaptive': { enabled: true, maxClusters: 4 } }),
    ).toContain(
      '  - cluster.adaptive.maxClusters: 4 is invalid: must be at least cluster.k (10): adaptive k only adds clusters. ' +
        'Fix: raise cluster.adaptive.maxClusters to at least cluster.k, or lower cluster.k',
    );
  });

  it('an unknown key in a nested section (losses, cluster, drift are strict too)', () => {
    expect(errorFor({ 'losses.triplet.margn': 0.3 })).toContain(
      '  - losses.triplet.margn: 0.3 is invalid: unknown key. Fix: did you mean losses.triplet.margin? Otherwise remove it',
    );
  });

  it('fraction training with a zero fraction', () => {
    expect(errorFor({ 'training.mode': 'fraction', 'training.fraction': 0 })).toContain(
      '  - training.fraction: 0 is invalid: must be above 0 when training.mode is fraction. ' +
        'Fix: set training.fraction between 0 and 1 (exclusive of 0 in fraction mode)',
    );
  });

  it('an environment variable that names no key, with the nearest that does', () => {
    expect(errorFor({}, { STREAMCLUST_BATCH__SIEZ: '3' })).toContain(
      '  - STREAMCLUST_BATCH__SIEZ: "3" is invalid: this environment variable names no configuration key. ' +
        'Fix: did you mean STREAMCLUST_BATCH__SIZE? Otherwise unset it',
    );
    expect(errorFor({}, { STREAMCLUST_DRIFT__INCIDENTS__QUIET_RECORD: '9' })).toContain(
      'Fix: did you mean STREAMCLUST_DRIFT__INCIDENTS__QUIET_RECORDS? Otherwise unset it',
    );
    expect(errorFor({}, { STREAMCLUST_NOTHING__LIKE_IT: '1' })).toContain(
      'Fix: use STREAMCLUST_<SECTION>__<KEY>, e.g. STREAMCLUST_BATCH__SIZE=512, or unset it',
    );
  });

  it('a config file that is not YAML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'batch:\n  size: [1,\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(
      /--config: ".*bad\.yaml" is invalid: it is not valid YAML/,
    );
  });

  it('a config file that does not exist', () => {
    expect(() => loadConfig({ file: '/nonexistent/streamclust.yaml', env: {} })).toThrow(
      'invalid configuration (1 problem):\n' +
        '  - --config: "/nonexistent/streamclust.yaml" is invalid: the file cannot be read (ENOENT). ' +
        'Fix: pass the path of an existing YAML file, e.g. --config config/default.yaml',
    );
  });

  it('reports every problem at once', () => {
    expect(errorFor({ 'batch.size': 0, 'model.backend': 'gpu' })).toMatch(
      /^invalid configuration \(2 problems\):\n/,
    );
  });
});

describe('configuration precedence', () => {
  it('environment overrides the file, flags override the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-config-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'batch:\n  size: 100\n  maxWaitMs: 50\ncluster:\n  k: 7\n');
    const config = loadConfig({
      file,
      env: { STREAMCLUST_BATCH__MAX_WAIT_MS: '75', KAFKA_BROKERS: 'a:1, b:2' },
      overrides: { 'cluster.k': 9 },
    });
    expect(config.batch).toEqual({
      size: 100,
      maxWaitMs: 75,
      maxInFlight: 4,
      stallTimeoutMs: 600_000,
    });
    expect(config.cluster.k).toBe(9);
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
  });

  it('never evaluates a config file as code: YAML tags for functions are rejected as data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-config-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'source: !!js/function "function () { process.exit(3) }"\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(ConfigError);
  });
});
