import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAlertStore } from '../../../hub/alerts/store.js';
import { importLegacyAlerts, openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import { createPushLog } from '../../../hub/push/log.js';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';
import { OLD_ALERT, OLD_PUSH, OLD_RESOLVED, SHA, T0, writeLegacyAlerts, writeLegacyPush } from './legacy-alerts.js';
import { silent } from './support.js';

/**
 * Upgrade (issue 16 item 8): the alert store (`alerts.db`) and the push replay log (`push.db`) of the
 * release before the hub database move into it once, with ids, states, timelines, comments,
 * settings and push sequences; the old files are kept as `*.migrated`.
 */
const root = mkdtempSync(join(tmpdir(), 'rb-upgrade-alerts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const pg = usePostgres();
const ACTOR = 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6';

describe('alerts.db and push.db of the previous release', () => {
  for (const engine of ['SQLite', 'PostgreSQL 15'] as const) {
    it(`are copied into the hub database on ${engine} once, keeping ids, timelines, settings and seqs`, async () => {
      const dir = freshDir();
      writeLegacyAlerts(dir);
      writeLegacyPush(dir);
      const name = `upgrade_alerts_${n}`;
      if (engine !== 'SQLite') await pg().createDatabase(name);
      const open = (): Promise<HubDatabase> => (engine === 'SQLite' ? openDatabase({ file: join(dir, 'hub.db'), log: silent }) : openDatabase({ url: pg().url(name), log: silent }));
      let db = await open();
      expect(await importLegacyAlerts(db, dir, silent)).toEqual({ alerts: 2, transitions: 5, events: 4, comments: 2, activity: 4, settings: 1, pendingSnapshots: 1, pushRows: 4 });
      for (const f of ['alerts.db', 'push.db']) {
        expect(existsSync(join(dir, f))).toBe(false);
        expect(existsSync(join(dir, `${f}.migrated`))).toBe(true);
      }
      const store = createAlertStore({ db });
      await store.load();
      expect(await store.get(OLD_ALERT)).toEqual({
        id: OLD_ALERT, estate: 'maple', gateway: 'gw-1', device: 'gate-1', rule: 'door.forced', key: 'door:1', severity: 4, state: 'acknowledged',
        count: 3, openedAt: T0, lastAt: T0 + 20_000, acknowledgedAt: T0 + 60_000, acknowledgedBy: ACTOR, level: 1, notifiedAt: T0 + 30_000, assignee: ACTOR,
        conditionClearedAt: T0 + 70_000, conditionClearedEvent: 'E-closed',
        events: ['E-first', 'E-second', 'E-third'], snapshots: [{ sha256: SHA, eventId: 'E-first' }], data: { door: 1, note: '东门 "forced"' },
        transitions: [
          { at: T0, actor: 'system', from: null, to: 'open' },
          { at: T0 + 30_000, actor: 'system', from: 'open', to: 'escalated', note: 'level 1' },
          { at: T0 + 60_000, actor: ACTOR, from: 'escalated', to: 'acknowledged', note: '马上到' },
        ],
        comments: [
          { id: 3, at: T0 + 61_000, actor: ACTOR, text: '门锁坏了' },
          { id: 7, at: T0 + 62_000, actor: 'system', text: 'second' },
        ],
        activity: [
          { kind: 'notified', at: T0, actor: 'user:a', level: 0, reason: 'new' },
          { kind: 'repeat', at: T0 + 10_000, count: 2, eventId: 'E-second' },
          { kind: 'repeat', at: T0 + 20_000, count: 3, eventId: 'E-third' },
          { kind: 'condition-cleared', at: T0 + 70_000, eventId: 'E-closed' },
        ],
      });
      expect(await store.get(OLD_RESOLVED)).toMatchObject({ state: 'resolved', resolvedBy: 'system', resolution: 'cleared', resolvedAt: T0 + 90_000 });
      expect(store.settings('maple').rules['door.held'].heldS).toBe(45);
      // The dedup key still holds: a raise of the open alert's key counts on it.
      expect(await store.raise({ type: 'raise', rule: 'door.forced', estate: 'maple', gateway: 'gw-1', device: 'gate-1', key: 'door:1', severity: 3, at: T0 + 100_000, data: {} })).toMatchObject({
        created: false,
        alert: { id: OLD_ALERT, count: 4 },
      });
      // New comments continue after the copied ids (PostgreSQL's identity sequence was moved on).
      expect((await store.comment(OLD_ALERT, 'system', 'after the upgrade')).id).toBe(8);
      // A pending snapshot still waits for its event.
      expect((await store.raise({ type: 'raise', rule: 'door.forced', estate: 'maple', gateway: 'gw-1', device: 'gate-9', key: 'door:1', severity: 3, at: T0 + 6000, eventId: 'E-later', data: {} })).alert.snapshots).toEqual([
        { sha256: SHA, eventId: 'E-later' },
      ]);

      const push = createPushLog(db, silent);
      expect(await push.after('estate:maple', 0, 100)).toEqual(OLD_PUSH.filter((r) => r.scope === 'estate:maple'));
      expect(await push.after(`user:01HZY3J8Q0V9W7K5M3N1P2R4S6`, 0, 100)).toEqual(OLD_PUSH.filter((r) => r.scope.startsWith('user:')));
      // The sequence continues from the last copied one, with no further jump.
      push.append('estate:maple', 'event', { n: 2 });
      await push.close();
      expect((await push.after('estate:maple', 1027, 100))!.map((r) => r.seq)).toEqual([1028]);
      await db.close();

      // The old files put back by hand: left alone, nothing duplicated.
      writeLegacyAlerts(dir);
      writeLegacyPush(dir);
      db = await open();
      expect(await importLegacyAlerts(db, dir, silent)).toMatchObject({ alerts: 0, pushRows: 0 });
      expect(existsSync(join(dir, 'alerts.db'))).toBe(true);
      expect((await createAlertStore({ db }).list({ estates: ['maple'] })).items).toHaveLength(3);
      expect((await createPushLog(db, silent).after('estate:maple', 0, 100))!).toHaveLength(4);
      await db.close();
    });
  }

  it('an alerts.db of schema 1 (no sign-off stamp, no activity) imports with empty stamps and activity', async () => {
    const dir = freshDir();
    writeLegacyAlerts(dir, 1);
    const db = await openDatabase({ file: join(dir, 'hub.db'), log: silent });
    expect(await importLegacyAlerts(db, dir, silent)).toMatchObject({ alerts: 2, activity: 0, pushRows: 0 });
    const store = createAlertStore({ db });
    const a = (await store.get(OLD_ALERT))!;
    expect(a.conditionClearedAt).toBeUndefined();
    expect(a.activity).toEqual([]);
    // Its condition clearing now stamps it.
    expect((await store.clear({ estate: 'maple', device: 'gate-1', rule: 'door.forced', key: 'door:1', at: T0 + 80_000, eventId: 'E1', resolve: false }))!.alert).toMatchObject({
      state: 'acknowledged',
      conditionClearedAt: T0 + 80_000,
    });
    await db.close();
  });
});

describe('the data dir the previous release made (test/fixtures/legacy-data-dir)', () => {
  const FIXTURE = new URL('../../fixtures/legacy-data-dir/', import.meta.url).pathname;
  const m = JSON.parse(readFileSync(join(FIXTURE, 'fixture.json'), 'utf8')) as {
    tables: Record<string, Record<string, number>>;
    alerts: { acknowledgedOpen: { id: string; comment: string }; resolved: { id: string } };
  };
  for (const engine of ['SQLite', 'PostgreSQL 15'] as const) {
    it(`imports every row of its alerts.db and push.db on ${engine}`, async () => {
      const dir = freshDir();
      cpSync(FIXTURE, dir, { recursive: true });
      const name = `upgrade_fixture_${n}`;
      if (engine !== 'SQLite') await pg().createDatabase(name);
      const db = engine === 'SQLite' ? await openDatabase({ file: join(dir, 'hub.db'), log: silent }) : await openDatabase({ url: pg().url(name), log: silent });
      const old = m.tables['alerts.db']!;
      expect(await importLegacyAlerts(db, dir, silent)).toEqual({
        alerts: old.alerts, transitions: old.alert_transitions, events: old.alert_events, comments: old.alert_comments, activity: old.alert_activity,
        settings: old.estate_settings, pendingSnapshots: old.pending_snapshots, pushRows: m.tables['push.db']!.push_log,
      });
      const store = createAlertStore({ db });
      const acked = (await store.get(m.alerts.acknowledgedOpen.id))!;
      expect(acked).toMatchObject({ state: 'acknowledged', comments: [{ text: m.alerts.acknowledgedOpen.comment }] });
      expect(acked.snapshots).toHaveLength(1);
      expect((await store.get(m.alerts.resolved.id))!.state).toBe('resolved');
      // Every scope's log replays whole, 1..max, and the next message follows the last.
      const push = createPushLog(db, silent);
      const maple = (await push.after('estate:maple', 0, 1000))!;
      expect(maple.map((r) => r.seq)).toEqual(Array.from({ length: maple.length }, (_, i) => i + 1));
      push.append('estate:maple', 'event', {});
      await push.close();
      expect(await push.last('estate:maple')).toBe(maple.length + 1);
      await db.close();
    });
  }
});

describe('a hub started on a data dir with alerts.db and push.db', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('serves the old alerts over REST and replays the old push log to a screen that reconnects with its since', async () => {
    const dataDir = freshDir();
    writeLegacyAlerts(dataDir);
    writeLegacyPush(dataDir);
    const TOKEN = 'admin-token-0123456789';
    hub = await startTestHub({ dataDir, apiToken: TOKEN });
    expect(existsSync(join(dataDir, 'alerts.db.migrated'))).toBe(true);
    expect(existsSync(join(dataDir, 'push.db.migrated'))).toBe(true);
    const res = await fetch(`${hub.httpUrl}/api/v1/alerts/${OLD_ALERT}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: OLD_ALERT, state: 'acknowledged', count: 3, comments: [{ id: 3 }, { id: 7 }] });
    const settings = await fetch(`${hub.httpUrl}/api/v1/estates/maple/alert-settings`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await settings.json()) as { rules: { 'door.held': { heldS: number } } }).rules['door.held'].heldS).toBe(45);

    const socket = ioClient(hub.httpUrl, { transports: ['websocket'], auth: { token: TOKEN, estates: ['maple'], since: { 'estate:maple': 1 } } });
    const got: Array<{ seq: number; event: string }> = [];
    socket.onAny((event: string, env: { seq: number }) => got.push({ seq: env.seq, event }));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect_error', reject);
        const check = setInterval(() => {
          if (got.length >= 2) {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
      expect(got).toEqual([
        { seq: 2, event: 'alert:new' },
        { seq: 1027, event: 'alert:update' },
      ]);
    } finally {
      socket.close();
    }
  });
});
