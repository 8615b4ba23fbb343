import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createEventLog } from '../../../hub/eventlog/index.js';
import { importLegacyEvents, openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { openSnapshotStore } from '../../../hub/snapshots.js';
import { createSqliteStore } from '../../../hub/store/sqlite.js';
import { topics, type RbEvent } from '../../../protocol/index.js';
import { makeEvent, startTestHub, waitFor, type TestHub } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';
import { silent } from './support.js';

/**
 * Upgrade (issue 16, items 2 and 8): events.db, snapshots.db and dedup.db of the release before the
 * hub database, written here with that release's schema (hub/store/sqlite.ts, hub/snapshots.ts,
 * hub/ingest/dedup.ts as they were), move in once.
 */
const root = mkdtempSync(join(tmpdir(), 'rb-upgrade-events-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const pg = usePostgres();
let n = 0;

function writeLegacy(dir: string, events: RbEvent[], dedupIds: string[]): void {
  const ev = new Database(join(dir, 'events.db'));
  ev.pragma('journal_mode = WAL');
  ev.exec(`CREATE TABLE events (id TEXT PRIMARY KEY, estate TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL, type TEXT NOT NULL,
     ts INTEGER NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, received_at INTEGER NOT NULL)`);
  ev.pragma('user_version = 1');
  const ins = ev.prepare('INSERT INTO events VALUES (@id, @estate, @gateway, @device, @type, @ts, @seq, @data, @receivedAt)');
  ev.transaction(() => events.forEach((e) => ins.run({ ...e, data: JSON.stringify(e.data), receivedAt: e.ts + 5 })))();
  ev.close();
  const sn = new Database(join(dir, 'snapshots.db'));
  sn.exec(`CREATE TABLE links (event_id TEXT NOT NULL, sha256 TEXT NOT NULL, estate TEXT NOT NULL, gateway TEXT NOT NULL,
    device TEXT NOT NULL, camera TEXT NOT NULL, taken_at INTEGER NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (event_id, sha256)) WITHOUT ROWID`);
  sn.prepare('INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(events[0]!.id, 'a'.repeat(64), events[0]!.estate, 'gw-1', 'gate-1', 'cam-1', 1714550400000, 1714550400100);
  sn.close();
  const dd = new Database(join(dir, 'dedup.db'));
  dd.exec('CREATE TABLE seen (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)');
  const add = dd.prepare('INSERT INTO seen (id) VALUES (?)');
  dd.transaction(() => dedupIds.forEach((id) => add.run(id)))();
  dd.close();
}

describe('events.db, snapshots.db and dedup.db of the previous release', () => {
  for (const engine of ['SQLite', 'PostgreSQL 15'] as const) {
    it(`move into the hub database on ${engine} once, and are kept aside as *.migrated`, async () => {
      const dir = join(root, `d${++n}`);
      mkdirSync(dir, { recursive: true });
      const events = Array.from({ length: 1_200 }, (_, i) => makeEvent({ estate: 'maple', seq: i + 1, ts: 1714550400000 + i * 1000, type: 'door.opened', data: { door: 1 } }));
      writeLegacy(dir, events, events.map((e) => e.id));
      const open = async (): Promise<HubDatabase> =>
        engine === 'SQLite' ? openDatabase({ file: join(dir, 'hub.db'), log: silent }) : openDatabase({ url: pg().url(`upgrade_events_${n}`), log: silent });
      if (engine !== 'SQLite') await pg().createDatabase(`upgrade_events_${n}`);
      const db = await open();
      expect(await importLegacyEvents(db, dir, silent, { events: true })).toEqual({ events: 1_200, snapshotLinks: 1, dedupIds: 1_200 });
      for (const f of ['events.db', 'snapshots.db', 'dedup.db']) {
        expect(existsSync(join(dir, f)), f).toBe(false);
        expect(existsSync(join(dir, `${f}.migrated`)), f).toBe(true);
      }
      // Same events, every field; the link; the old ids are duplicates, never delivered.
      const store = createSqliteStore({ db, log: silent });
      await store.start();
      expect(await store.query({ estate: 'maple', limit: 5_000 })).toEqual([...events].reverse());
      const snapshots = openSnapshotStore({ dataDir: dir, db });
      expect((await snapshots.forEvent(events[0]!.id)).map((l) => l.sha256)).toEqual(['a'.repeat(64)]);
      const log = createEventLog({ db });
      const fresh = makeEvent({ estate: 'maple' });
      const added = await log.append([events[7]!, fresh].map((e) => ({ key: e.id, kind: 'event' as const, estate: e.estate, body: e })));
      expect(added.map((a) => a.key)).toEqual([fresh.id]);
      expect((await log.read(0, 10)).map((e) => e.key)).toEqual([fresh.id]);

      // A second start (or a file put back by hand): nothing copied twice.
      writeLegacy(dir, [makeEvent({ estate: 'maple' })], ['x']);
      expect(await importLegacyEvents(db, dir, silent, { events: true })).toEqual({ events: 0, snapshotLinks: 0, dedupIds: 0 });
      expect(existsSync(join(dir, 'events.db'))).toBe(true);
      expect(await store.query({ estate: 'maple', limit: 5_000 })).toHaveLength(1_200);
      await db.close();
    });
  }

  it('with InfluxDB configured, events.db is left alone', async () => {
    const dir = join(root, `d${++n}`);
    mkdirSync(dir, { recursive: true });
    writeLegacy(dir, [makeEvent()], []);
    const db = await openDatabase({ file: join(dir, 'hub.db'), log: silent });
    expect(await importLegacyEvents(db, dir, silent, { events: false })).toEqual({ events: 0, snapshotLinks: 1, dedupIds: 0 });
    expect(existsSync(join(dir, 'events.db'))).toBe(true);
    expect(existsSync(join(dir, 'dedup.db.migrated'))).toBe(true);
    await db.close();
  });
});

describe('a hub started on the data dir of the previous release (test/fixtures/legacy-data-dir)', () => {
  const FIXTURE = new URL('../../fixtures/legacy-data-dir/', import.meta.url).pathname;
  type Fixture = { api: { events: Array<RbEvent & { snapshots?: string[] }> }; gateways: Array<{ estate: string; gateway: string; password: string; revoked: boolean }> };
  const fixture = JSON.parse(readFileSync(join(FIXTURE, 'fixture.json'), 'utf8')) as Fixture;
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('serves the same events with their snapshots from hub.db, and a re-sent old event is still a duplicate', async () => {
    const dataDir = join(root, `fixture-${++n}`);
    cpSync(FIXTURE, dataDir, { recursive: true });
    hub = await startTestHub({ dataDir });
    for (const f of ['events.db', 'snapshots.db', 'dedup.db']) {
      expect(existsSync(join(dataDir, f)), f).toBe(false);
      expect(existsSync(join(dataDir, `${f}.migrated`)), f).toBe(true);
    }
    const res = await fetch(`${hub.httpUrl}/api/v1/events?limit=1000`, { headers: { authorization: `Bearer ${hub.apiToken}` } });
    expect(((await res.json()) as { items: unknown[] }).items).toEqual(fixture.api.events);
    expect(fixture.api.events.some((e) => e.snapshots?.length)).toBe(true);

    // The gateway re-sends an event it sent before the upgrade (it never got the PUBACK): acknowledged, not stored or delivered again.
    const gw = fixture.gateways.find((g) => !g.revoked)!;
    const old = fixture.api.events.find((e) => e.gateway === gw.gateway)!;
    const { snapshots: _links, ...envelope } = old;
    void _links;
    const delivered: string[] = [];
    hub.hub.bus.on('event', (e) => void delivered.push(e.id));
    const client = await hub.connect({ estate: gw.estate, gateway: gw.gateway, username: `${gw.estate}.${gw.gateway}`, password: gw.password });
    await client.publishAsync(topics.event(old.estate, old.gateway, old.device), JSON.stringify(envelope), { qos: 1 });
    expect(await hub.metric('rb_events_deduplicated_total')).toBe(1);
    expect(await hub.metric('rb_messages_accepted_total')).toBe(0);
    // A new event after it is stored and delivered: the path is open.
    const fresh = makeEvent({ estate: old.estate, gateway: old.gateway, device: old.device, type: 'door.closed', data: { door: 1 } });
    await client.publishAsync(topics.event(old.estate, old.gateway, old.device), JSON.stringify(fresh), { qos: 1 });
    expect(await waitFor(() => delivered.includes(fresh.id))).toBe(true);
    expect(delivered).toEqual([fresh.id]);
    expect((await hub.events({ limit: 1000 })).length).toBe(fixture.api.events.length + 1);
  });
});
