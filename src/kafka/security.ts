/**
 * TLS and SASL for the Kafka clients, from the `kafka.ssl` and `kafka.sasl` sections. Secrets
 * come from the configuration (best through the environment, STREAMCLUST_KAFKA__SASL__PASSWORD)
 * or from files (passwordFile, keyFile: a mounted secret), are read once at start, and are never
 * logged: `redactSecrets` is what `--print-config` prints.
 */
import { readFileSync } from 'node:fs';

import type { KafkaConfig, SASLOptions } from 'kafkajs';

import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';

type KafkaSection = Config['kafka'];

export function kafkaSecurity(config: KafkaSection): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const { ssl, sasl } = config;
  if (ssl.enabled) {
    const ca = ssl.caFile === '' ? undefined : readSecret('kafka.ssl.caFile', ssl.caFile);
    const cert = ssl.certFile === '' ? undefined : readSecret('kafka.ssl.certFile', ssl.certFile);
    const key = ssl.keyFile === '' ? undefined : readSecret('kafka.ssl.keyFile', ssl.keyFile);
    out.ssl = {
      rejectUnauthorized: ssl.rejectUnauthorized,
      ...(ca === undefined ? {} : { ca: [ca] }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
  }
  if (sasl.mechanism !== 'none') {
    const password =
      sasl.passwordFile === ''
        ? sasl.password
        : withoutFinalNewline(readSecret('kafka.sasl.passwordFile', sasl.passwordFile));
    out.sasl = { mechanism: sasl.mechanism, username: sasl.username, password } as SASLOptions;
  }
  return out;
}

/** The HTTP bearer token: http.authTokenFile's content, else http.authToken; undefined = none. */
export function httpAuthToken(http: Config['http']): string | undefined {
  const token =
    http.authTokenFile === ''
      ? http.authToken
      : withoutFinalNewline(readSecret('http.authTokenFile', http.authTokenFile));
  return token === '' ? undefined : token;
}

function readSecret(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([
      {
        key,
        value: JSON.stringify(path),
        rule: `the file cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        fix: `point ${key} at a readable file, or leave it empty`,
      },
    ]);
  }
}

/**
 * A secret file's content as it is, less the one line end an editor adds: spaces and other
 * characters around a password are part of it.
 */
function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

const SECRET_KEYS = new Set(['username', 'password', 'authToken']);

/** A copy of the configuration with every secret replaced, for printing. */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redactSecrets) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_KEYS.has(k) && typeof v === 'string' && v !== '' ? '<redacted>' : redactSecrets(v),
      ]),
    ) as T;
  }
  return value;
}
