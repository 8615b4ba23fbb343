import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that start real processes (influxd, mosquitto, the CLI) compete for 2 cores.
    maxWorkers: 2,
    pool: 'forks',
  },
});
