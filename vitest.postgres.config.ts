import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The hub on PostgreSQL (issue 16): the same suites, each test hub on its own database of one real
 * PostgreSQL 15 (test/support/postgres-global.ts, test/support/hub.ts). `npm test` runs the e2e alert
 * flow and the REST suites this way too.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      globalSetup: ['test/support/postgres-global.ts'],
    },
  }),
);
