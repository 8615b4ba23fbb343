import { startPostgres } from './postgres.js';

/**
 * vitest globalSetup of the PostgreSQL pass (vitest.postgres.config.ts): one real PostgreSQL 15 for
 * the run, started before the workers fork (they inherit RB_TEST_PG_SERVER), stopped after. A
 * missing binary fails the pass; it never falls back to SQLite.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const server = await startPostgres();
  process.env.RB_TEST_PG_SERVER = server.url('').replace(/\/$/, '');
  return () => server.stop();
}
