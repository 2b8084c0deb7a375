import { defineConfig } from 'vitest/config';

// Two projects: unit tests need no broker (those of test/unit/browser drive Chromium);
// integration tests get a real Kafka broker from the global setup (or the one KAFKA_BROKERS
// names). `npm test` (scripts/test.mjs) runs both
// in two vitest processes at once, because one vitest run starts a project without file
// parallelism only after every other file has finished. Each project's log
// opens with the TensorFlow.js backend the tests train on.
export default defineConfig({
  test: {
    reporters: ['default', 'json'],
    // Top-level rather than a reporter option, so that `--outputFile.json` on the command line
    // (scripts/test.mjs gives each project its own) takes precedence.
    outputFile: { json: 'test-results/vitest.json' },
    // For `vitest run` of one project or a few files; `npm test` runs the unit project with
    // one worker beside the integration project (scripts/test.mjs).
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
