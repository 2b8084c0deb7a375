// Stopping the Kafka source before its consumer runs (a SIGTERM during start-up, or while kafkajs
// restarts the consumer after a crash) must end cleanly: kafkajs refuses to pause a consumer that
// is not running, and the stop must not fail on that.
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { createKafkaSource } from '../../../src/sources/kafka-source.js';

describe('the Kafka source, stopped before it runs', () => {
  it.each([0, 4096])(
    'stops and closes cleanly (kafka.readAheadRecords %i)',
    async (readAheadRecords) => {
      const config = validateConfig({
        kafka: { brokers: ['127.0.0.1:1'], inputTopic: 'never-read', readAheadRecords },
      });
      const source = createKafkaSource(config.kafka, silentLogger);
      await expect(source.stop()).resolves.toBeUndefined();
      await expect(source.close()).resolves.toBeUndefined();
    },
  );
});
