import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig, validateConfig } from '../../../src/config/load-config.js';
import { ConfigError } from '../../../src/errors.js';
import { kafkaSecurity, redactSecrets } from '../../../src/kafka/security.js';
import { runCli } from '../../helpers/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'streamclust-secrets-'));

describe('Kafka TLS and SASL options', () => {
  it('builds TLS options from PEM files and SCRAM from a password file', () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA-PEM');
    writeFileSync(join(dir, 'password'), 's3cret\n');
    const config = validateConfig({
      kafka: {
        ssl: { enabled: true, caFile: join(dir, 'ca.pem') },
        sasl: { mechanism: 'scram-sha-512', username: 'svc', passwordFile: join(dir, 'password') },
      },
    });
    expect(kafkaSecurity(config.kafka)).toEqual({
      ssl: { rejectUnauthorized: true, ca: ['CA-PEM'] },
      sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 's3cret' },
    });
  });

  it('takes a secret file as it is, less one final line end: surrounding spaces are part of it', () => {
    writeFileSync(join(dir, 'spaced'), ' pa ss #1 \r\n');
    const config = validateConfig({
      kafka: { sasl: { mechanism: 'plain', username: 'svc', passwordFile: join(dir, 'spaced') } },
    });
    expect(kafkaSecurity(config.kafka).sasl).toMatchObject({ password: ' pa ss #1 ' });
    expect(redactSecrets(config).kafka.sasl.username).toBe('<redacted>');
  });

  it('takes the SASL password from the environment', () => {
    const config = loadConfig({
      env: { STREAMCLUST_KAFKA__SASL__PASSWORD: 'from-env' },
      overrides: { 'kafka.sasl.mechanism': 'plain', 'kafka.sasl.username': 'svc' },
    });
    expect(kafkaSecurity(config.kafka).sasl).toEqual({
      mechanism: 'plain',
      username: 'svc',
      password: 'from-env',
    });
  });

  it('names the key when a secret file cannot be read', () => {
    const config = validateConfig({
      kafka: { ssl: { enabled: true, keyFile: '/nonexistent/key.pem' } },
    });
    expect(() => kafkaSecurity(config.kafka)).toThrow(ConfigError);
    expect(() => kafkaSecurity(config.kafka)).toThrow(
      '  - kafka.ssl.keyFile: "/nonexistent/key.pem" is invalid: the file cannot be read (ENOENT). Fix: point kafka.ssl.keyFile at a readable file, or leave it empty',
    );
  });

  it('refuses SASL without a user or a password', () => {
    expect(() => validateConfig({ kafka: { sasl: { mechanism: 'plain' } } })).toThrow(
      /kafka\.sasl\.username: "" is invalid: must be set when kafka\.sasl\.mechanism is plain[\s\S]*kafka\.sasl\.password: "" is invalid: must be set \(or kafka\.sasl\.passwordFile\) when kafka\.sasl\.mechanism is plain\. Fix: set STREAMCLUST_KAFKA__SASL__PASSWORD/,
    );
  });

  it('never prints secrets: --print-config redacts them', async () => {
    const config = validateConfig({
      kafka: { sasl: { mechanism: 'plain', username: 'svc', password: 'hunter2' } },
    });
    expect(redactSecrets(config).kafka.sasl.password).toBe('<redacted>');
    const { code, stdout } = await runCli(
      [
        'run',
        '--print-config',
        '--set',
        'kafka.sasl.mechanism=plain',
        '--set',
        'kafka.sasl.username=svc',
      ],
      {
        STREAMCLUST_KAFKA__SASL__PASSWORD: 'hunter2',
      },
    );
    expect(code).toBe(0);
    expect(stdout).not.toContain('hunter2');
    expect(stdout).toContain('"password": "<redacted>"');
  });
});
