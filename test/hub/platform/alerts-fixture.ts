import { afterEach, beforeEach } from 'vitest';
import type { RaiseAction } from '../../../hub/alerts/rules.js';
import { createAlertStore, type AlertStore } from '../../../hub/alerts/store.js';
import { DAY, E, ev, GW } from '../alerts/fixtures.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

/** Per test of the calling describe: a fresh hub database with a loaded alert store, handed to `use`; cleaned up after. */
export function eachAlertStore(factory: DatabaseFactory, use: (t: DatabaseUnderTest, store: AlertStore) => void): void {
  let current: DatabaseUnderTest | undefined;
  beforeEach(async () => {
    current = await factory();
    const store = createAlertStore({ db: current.db });
    await store.load();
    use(current, store);
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
}

/** Raise actions of a forced door on gate-1 (E/GW, at DAY), each with its own data. */
export function raiser(): (over?: Partial<RaiseAction>) => RaiseAction {
  let n = 0;
  return (over = {}) => ({
    type: 'raise', rule: 'door.forced', estate: E, gateway: GW, device: 'gate-1', key: 'door:1', severity: 3, at: DAY,
    eventId: ev('door.forced', { door: 1 }).id, data: { door: 1, n: n++ }, ...over,
  });
}
