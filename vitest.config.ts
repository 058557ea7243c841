/**
 * Test projects:
 * - `unit`: `src/**\/*.test.ts` beside the code in every package and plugin
 *   (broker tests among them use the real RabbitMQ with a unique prefix).
 * - `integration`: top-level `test/**\/*.test.ts`, which start real service
 *   processes against RabbitMQ.
 * - `disruptive`: `test/disruptive/**\/*.test.ts`, which disturb the whole
 *   broker (restart it, change its consumer timeout). They run one file at a
 *   time and only after the other projects have finished (`groupOrder`).
 *
 * `pnpm test` runs all three; `pnpm test:unit` / `pnpm test:integration` one each.
 */
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Child processes rather than worker threads: services under test install
    // signal handlers, spawn processes and load native addons.
    pool: 'forks',
    passWithNoTests: true,
    // Finds the broker once (AMQP_URL, else 127.0.0.1:5672, else a testcontainers RabbitMQ).
    globalSetup: ['test/helpers/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'plugins/*/src/**/*.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/disruptive/**', 'test/docs-walkthroughs.test.ts'],
          setupFiles: ['test/helpers/setup-integration.ts'],
          // Integration tests start real processes (tsx start-up, broker connect).
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'disruptive',
          include: ['test/disruptive/**/*.test.ts', 'test/docs-walkthroughs.test.ts'],
          setupFiles: ['test/helpers/setup-integration.ts'],
          // Every connection to the broker drops, or a broker-wide setting changes: nothing else may run meanwhile.
          // The documentation walkthroughs run here too: they need the default ports and a machine that is not
          // busy with every other test file (their `sleep 1` is what a reader would type).
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
