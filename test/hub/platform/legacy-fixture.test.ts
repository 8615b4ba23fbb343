import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { clientIdFor } from '../../../protocol/index.js';
import { startTestHub, type TestHub } from '../../support/hub.js';

/**
 * The data dir of the release before one hub database (test/fixtures/legacy-data-dir, made by
 * scripts/make-legacy-fixture.ts with that release's code; fixture.json records what its API showed).
 * A hub started on a copy serves the same users, gateways, alerts, audit, events, dead letters,
 * roster and snapshot, and its people and gateways keep their passwords: the ground truth the upgrade
 * of issue 16 item 8 must keep.
 */
const FIXTURE = new URL('../../fixtures/legacy-data-dir/', import.meta.url).pathname;
type Item = Record<string, unknown>;
const m = JSON.parse(readFileSync(join(FIXTURE, 'fixture.json'), 'utf8')) as {
  apiToken: string;
  users: Array<{ id: string; name: string; password: string; disabled: boolean }>;
  gateways: Array<{ estate: string; gateway: string; password: string; revoked: boolean }>;
  alerts: { acknowledgedOpen: { id: string; note: string }; resolved: { id: string; note: string } };
  handover: { id: string; note: string };
  shifts: string[];
  rosterException: { id: string };
  alertSettings: { estate: string; saved: Item };
  counts: Record<string, number>;
  api: { users: Item[]; gateways: Item[]; alerts: Item[]; audit: Item[]; deadLetters: Item[]; events: Item[] };
};

const root = mkdtempSync(join(tmpdir(), 'rb-legacy-fixture-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a hub started on the data dir of the release before one hub database', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('serves what that release served, and its people and gateways keep their passwords', async () => {
    const dataDir = join(root, 'data');
    cpSync(FIXTURE, dataDir, { recursive: true });
    t = await startTestHub({ dataDir, apiToken: m.apiToken });
    const get = async (path: string, token?: string) => {
      const r = await t!.api('GET', path, token === undefined ? {} : { token });
      expect(r.status, `${path}: ${JSON.stringify(r.json)}`).toBe(200);
      return r.json;
    };
    // The audit log first: reading personal data (events, alerts) adds audit entries.
    expect((await get('/api/v1/audit?limit=1000')).items).toEqual(m.api.audit);
    expect(m.api.audit).toHaveLength(m.counts.audit!);
    expect((await get('/api/v1/admin/gateways')).items).toEqual(m.api.gateways);
    expect((await get('/api/v1/admin/dead-letters')).items).toEqual(m.api.deadLetters);
    // Device names come from the gateways' statuses, held in memory by this release: until a gateway
    // reports again after a restart, an alert shows its device id only.
    const withoutDeviceName = (items: Item[]) => items.map(({ deviceName: _, ...a }) => a);
    expect(withoutDeviceName((await get('/api/v1/alerts?limit=50')).items as Item[])).toEqual(withoutDeviceName(m.api.alerts));
    expect((await get('/api/v1/events?limit=1000')).items).toEqual(m.api.events);
    expect(m.api.events).toHaveLength(m.counts.events!);

    const acked = (await get(`/api/v1/alerts/${m.alerts.acknowledgedOpen.id}`)) as { state: string; snapshots: Array<{ sha256: string; url: string }> };
    expect(acked.state).toBe('acknowledged');
    expect(acked.snapshots).toHaveLength(1);
    const img = await fetch(t.httpUrl + acked.snapshots[0]!.url, { headers: { authorization: `Bearer ${m.apiToken}` } });
    expect(img.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await img.arrayBuffer())).digest('hex')).toBe(acked.snapshots[0]!.sha256);
    expect(await get(`/api/v1/alerts/${m.alerts.resolved.id}`)).toMatchObject({ state: 'resolved', resolution: m.alerts.resolved.note });
    // Everything the release saved, as saved; rules added since (e.g. patrol.missed) with their defaults.
    expect(await get(`/api/v1/estates/${m.alertSettings.estate}/alert-settings`)).toMatchObject(m.alertSettings.saved);

    // Every user with a password logs in with it; the disabled one does not.
    let admin = '';
    for (const u of m.users) {
      const r = await t.api('POST', '/api/v1/auth/login', { token: null, body: { name: u.name, password: u.password } });
      expect(r.status, u.name).toBe(u.disabled ? 401 : 200);
      if (u.name === 'admin-wang') admin = r.json.token as string;
    }
    expect((await get('/api/v1/users', admin)).items).toEqual(m.api.users);
    const shifts = (await get('/api/v1/roster/shifts', admin)).items as Item[];
    expect(shifts.map((s) => s.id).sort()).toEqual([...m.shifts].sort());
    expect(((await get('/api/v1/roster/exceptions', admin)).items as Item[]).map((e) => e.id)).toEqual([m.rosterException.id]);
    expect((await get('/api/v1/roster/handover?estate=maple', admin)).lastHandover).toMatchObject({ id: m.handover.id, note: m.handover.note });

    // The active gateway connects with its password; the revoked one is refused.
    for (const g of m.gateways) {
      const outcome = await mqtt
        .connectAsync(t.mqttUrl, { clientId: clientIdFor(g.estate, g.gateway), username: `${g.estate}.${g.gateway}`, password: g.password, reconnectPeriod: 0, protocolVersion: 4, connectTimeout: 5_000 })
        .then(async (c) => {
          await c.endAsync();
          return 'connected';
        })
        .catch((err: Error) => `refused: ${err.message}`);
      expect(outcome, g.gateway).toEqual(g.revoked ? expect.stringMatching(/^refused/) : 'connected');
    }
  }, 30_000);
});
