import pg from 'pg';
import { createAlertStore } from '../../hub/alerts/store.js';
import type { AlertSettingsInput } from '../../hub/alerts/settings.js';
import { createPeople } from '../../hub/people/index.js';
import { openDatabase } from '../../hub/platform/db/index.js';
import { createRegistry } from '../../hub/registry.js';
import { silentLogger } from '../../lib/log.js';

/**
 * What escalation needs in a test cluster, written straight into the shared database before any hub
 * starts (so every node reads it at start, no cross-node cache to wait for): one volunteer covering
 * `estates`, on duty there around the clock (a shift 00:00–24:00 on every weekday), the estates'
 * alert settings, and a token for the volunteer's screen (the signing key is the database's, shared
 * by every node).
 */
export async function seedOnDuty(
  dbUrl: string,
  estates: readonly string[],
  settings: AlertSettingsInput,
): Promise<{ userId: string; token: string }> {
  const db = await openDatabase({ url: dbUrl, log: silentLogger() });
  const registry = createRegistry({ db, log: silentLogger() });
  await registry.start();
  const people = createPeople({ db, registry, tokenTtl: '1h', timeZone: 'Asia/Shanghai', apiToken: undefined, watch: false });
  try {
    await people.start();
    const user = await people.users.add({ name: 'vol-on-duty', role: 'volunteer', scopes: estates.map((e) => `estate:${e}`), password: 'vol-on-duty-password' });
    for (const estate of estates) {
      for (let weekday = 1; weekday <= 7; weekday++) await people.roster.addShift({ user: user.id, estate, weekday, start: '00:00', end: '24:00' });
    }
    const store = createAlertStore({ db });
    for (const estate of estates) await store.saveSettings(estate, settings);
    return { userId: user.id, token: (await people.tokens.issue(user)).token };
  } finally {
    people.close();
    await registry.close();
    await db.close();
  }
}

/** Partitions per owner among the leases not lapsed (database clock). */
export async function leaseOwners(db: pg.Client): Promise<Record<string, number>> {
  const r = await db.query<{ owner: string | null; n: number }>('SELECT owner, count(*)::int AS n FROM partition_leases WHERE expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint GROUP BY owner');
  return Object.fromEntries(r.rows.map((row) => [row.owner ?? 'none', row.n]));
}

/** Both nodes hold 32 ± 5 partitions. */
export async function balanced(db: pg.Client, a = 'node-a', b = 'node-b'): Promise<boolean> {
  const o = await leaseOwners(db);
  return Math.abs((o[a] ?? 0) - 32) <= 5 && Math.abs((o[b] ?? 0) - 32) <= 5;
}

/** The lines of a node's /metrics that start with `name`. */
export async function metricLines(httpPort: number, name: string): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).join('\n');
}

/** The value of one series of a node's /metrics (0 when absent). */
export async function metricOf(httpPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of (await metricLines(httpPort, name)).split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && want.every((w) => (m[2] ?? '').includes(w))) return Number(m[3]);
  }
  return 0;
}
