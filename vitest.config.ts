import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/support/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that start real processes (influxd, mosquitto, the CLI) compete for 2 cores.
    maxWorkers: 2,
    pool: 'forks',
    // The minute-long fault tests first, so the two workers finish together (test/support/sequencer.ts).
    sequence: { sequencer: SlowFirstSequencer },
  },
});
