import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { importLegacyRegistry, openDatabase } from '../../../hub/platform/db/index.js';
import { openRegistry, usernameFor, type GatewayRecord } from '../../../hub/registry.js';
import { captureLog, connectGateway, startTestHub, type TestHub } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';
import { silent } from './support.js';

/**
 * Upgrade (issue 16 item 8), the registry: a data dir written by the release before the hub database
 * (test/fixtures/legacy-data-dir, made by that release's code and CLI) keeps its streets, grids,
 * estates, gateways (their passwords keep working, a revoked one stays revoked) and devices.
 */
const FIXTURE = new URL('../../fixtures/legacy-data-dir/', import.meta.url).pathname;
type Fixture = {
  apiToken: string;
  street: { id: string; name: string };
  grid: { id: string; name: string };
  estates: Array<{ id: string; name: string; grid?: string; street?: string }>;
  gateways: Array<{ estate: string; gateway: string; password: string; revoked: boolean; devices: string[] }>;
  api: { gateways: GatewayRecord[] };
};
const fx = JSON.parse(readFileSync(join(FIXTURE, 'fixture.json'), 'utf8')) as Fixture;

const root = mkdtempSync(join(tmpdir(), 'rb-upgrade-registry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const legacyDir = (): string => {
  const dir = join(root, `d${++n}`);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
};
const pg = usePostgres();

/** What the registry should hold after the upgrade, from fixture.json (an estate given only a grid takes its street). */
const places = {
  streets: [{ id: fx.street.id, name: fx.street.name }],
  grids: [{ id: fx.grid.id, street: fx.street.id, name: fx.grid.name }],
  estates: fx.estates.map((e) => ({ id: e.id, street: fx.street.id, grid: e.grid ?? null, name: e.name })).sort((a, b) => (a.id < b.id ? -1 : 1)),
};
const devicesOf = (list: Array<{ estate: string; gateway: string; device: string }>) =>
  list.map((d) => `${d.estate}/${d.gateway}/${d.device}`).sort();
const fixtureDevices = devicesOf(fx.gateways.flatMap((g) => g.devices.map((device) => ({ estate: g.estate, gateway: g.gateway, device }))));

let t: TestHub | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('registry.db of the previous release', () => {
  it('a hub started on that data dir has the same places, gateways and devices; old passwords log in, the revoked one does not', async () => {
    const dir = legacyDir();
    const { log, lines } = captureLog('info');
    t = await startTestHub({ dataDir: dir, apiToken: fx.apiToken, log });
    expect(existsSync(join(dir, 'registry.db'))).toBe(false);
    expect(existsSync(join(dir, 'registry.db.migrated'))).toBe(true);
    expect(lines.some((l) => l.msg === 'registry moved into the hub database')).toBe(true);

    const r = t.hub.registry;
    expect({ streets: r.listStreets(), grids: r.listGrids(), estates: r.listEstates() }).toEqual(places);
    expect((await t.api('GET', '/api/v1/admin/gateways')).json).toEqual({ items: fx.api.gateways });
    expect(devicesOf(r.listDevices())).toEqual(fixtureDevices);
    expect(r.estatesInScope([`grid:${fx.grid.id}`])).toEqual(fx.estates.filter((e) => e.grid === fx.grid.id).map((e) => e.id));

    for (const g of fx.gateways) {
      const creds = { estate: g.estate, gateway: g.gateway, username: usernameFor(g.estate, g.gateway), password: g.password };
      if (g.revoked) {
        await expect(connectGateway(t.mqttUrl, creds)).rejects.toMatchObject({ code: 4 }) // bad user name or password;
      } else {
        const client = await connectGateway(t.mqttUrl, creds);
        await client.endAsync(true);
      }
    }

    // A second start: nothing copied again, nothing lost.
    await t.stop();
    t = await startTestHub({ dataDir: dir, apiToken: fx.apiToken });
    expect((await t.api('GET', '/api/v1/admin/gateways')).json).toEqual({ items: fx.api.gateways });
    expect(t.hub.registry.listEstates()).toEqual(places.estates);
  }, 60_000);

  it('is copied the same into PostgreSQL 15', async () => {
    const dir = legacyDir();
    const url = await pg().createDatabase(`upgrade_registry_${n}`);
    const db = await openDatabase({ url, log: silent });
    try {
      expect(await importLegacyRegistry(db, dir, silent)).toEqual({ streets: 1, grids: 1, estates: fx.estates.length, gateways: fx.gateways.length, devices: fixtureDevices.length });
      const r = await openRegistry(db, { log: silent });
      expect({ streets: r.listStreets(), grids: r.listGrids(), estates: r.listEstates() }).toEqual(places);
      expect(r.listGateways()).toEqual(fx.api.gateways);
      expect(devicesOf(r.listDevices())).toEqual(fixtureDevices);
      for (const g of fx.gateways) {
        expect(await r.authenticate(usernameFor(g.estate, g.gateway), g.password)).toEqual(g.revoked ? null : { estate: g.estate, gateway: g.gateway });
      }
      await r.close();
    } finally {
      await db.close();
    }
  }, 60_000);
});
