import { defineConfig } from 'vitest/config';

// Two projects: unit tests need nothing but Node; integration tests get a real Kafka broker
// from the global setup (or the one KAFKA_BROKERS names). `npm test` runs both. Each project's log
// opens with the TensorFlow.js backend the tests train on.
export default defineConfig({
  test: {
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    // Vitest's default on a 2-core machine is one worker: every file, unit and integration, ran
    // one after the other (18 min). Two let the unit files run while an integration file waits
    // on its broker, consumer groups and child processes.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/setup/backend-global-setup.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/backend-global-setup.ts', 'test/setup/kafka-global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          // The machine has two cores and one broker: run integration files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
