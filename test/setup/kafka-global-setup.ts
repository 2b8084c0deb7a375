// One Kafka broker for the whole integration run, shared by every test file (each test uses
// its own topics and groups). KAFKA_BROKERS points the run at an existing broker instead.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { KafkaBroker, kafkaAvailability } from '../helpers/kafka-broker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated bootstrap addresses; empty when no broker could be had. */
    kafkaBrokers: string;
    /** Why there is no broker; empty when there is one. */
    kafkaUnavailableReason: string;
    /** Version of the broker this setup started; 'external' for KAFKA_BROKERS. */
    kafkaVersion: string;
  }
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Outside the broker's temp dir, so the log survives teardown and CI can keep it as an artifact.
const brokerLogDir = path.join(repoRoot, 'test-results', 'kafka');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env['KAFKA_BROKERS']?.trim();
  if (external) {
    project.provide('kafkaBrokers', external);
    project.provide('kafkaUnavailableReason', '');
    project.provide('kafkaVersion', 'external');
    console.log(`[kafka] using KAFKA_BROKERS=${external}; no broker started`);
    return async () => {};
  }

  const startedAt = performance.now();
  let broker: KafkaBroker | undefined;
  let reason = '';
  const availability = await kafkaAvailability();
  if (availability.ok) {
    try {
      broker = await KafkaBroker.start({ logDir: brokerLogDir });
    } catch (error) {
      reason = `the Kafka broker did not start: ${error instanceof Error ? error.message : String(error)}`;
    }
  } else {
    reason = availability.reason;
  }

  if (broker === undefined) {
    if (process.env['CI'] === 'true') {
      throw new Error(`[kafka] CI=true requires a Kafka broker, but ${reason}`);
    }
    console.warn(`[kafka] tests that need Kafka will be skipped: ${reason}`);
    project.provide('kafkaBrokers', '');
    project.provide('kafkaUnavailableReason', reason);
    project.provide('kafkaVersion', '');
    return async () => {};
  }

  project.provide('kafkaBrokers', broker.brokers);
  project.provide('kafkaUnavailableReason', '');
  project.provide('kafkaVersion', broker.version);
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  console.log(
    `[kafka] broker ${broker.brokers}, Kafka ${broker.version}, log ${broker.logFile} ` +
      `(ready in ${seconds} s)`,
  );
  const started = broker;
  return async () => {
    await started.destroy();
  };
}
