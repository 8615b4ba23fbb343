import { afterAll, beforeAll } from 'vitest';
import { startInfluxd, type Influxd } from './influxd.js';

/**
 * Vitest wiring for one real influxd per test file: started in beforeAll, stopped in afterAll.
 * Returns a getter for the running server. If influxd cannot start (not installed: the error says
 * to run scripts/ensure-deps.sh), the getter throws that error, so every test that uses it FAILS
 * with it: nothing is skipped and a machine without influxd never reports a green run.
 */
export function useInfluxd(): () => Influxd {
  let server: Influxd | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      server = await startInfluxd();
    } catch (err) {
      failure = err;
    }
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server) return server;
    throw failure ?? new Error('influxd is not started yet: call the getter inside a test or hook');
  };
}
