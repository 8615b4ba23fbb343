import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importLegacyRegistry } from '../../../hub/platform/db/index.js';
import { openRegistry, type CredentialChange, type Registry } from '../../../hub/registry.js';
import { hashSecret } from '../../../hub/registry-secrets.js';
import { silent, type DatabaseFactory, type DatabaseUnderTest } from './support.js';

/**
 * The registry repository's contract (STYLE.md §4), written once and run on every engine of the
 * hub database: streets, grids, estates and scopes, the gateway credential life cycle, devices,
 * changes made by another registry on the same database (the admin CLI), and the one-time import
 * of a legacy registry.db.
 */

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The registry.db DDL of the release before the hub database (hub/registry-schema.ts, version 3), copied. */
const LEGACY_DDL = `
  CREATE TABLE gateways (estate TEXT NOT NULL, gateway TEXT NOT NULL, username TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL, revoked_at INTEGER, PRIMARY KEY (estate, gateway));
  CREATE TABLE streets (id TEXT PRIMARY KEY, name TEXT);
  CREATE TABLE estates (id TEXT PRIMARY KEY, street TEXT REFERENCES streets(id), name TEXT);
  CREATE INDEX estates_street ON estates(street);
  ALTER TABLE gateways ADD COLUMN rotated_at INTEGER;
  CREATE TABLE devices (estate TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL, first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL, online INTEGER NOT NULL, PRIMARY KEY (estate, gateway, device));
  CREATE TABLE credential_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, estate TEXT NOT NULL, gateway TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL);
  CREATE TABLE grids (id TEXT PRIMARY KEY, street TEXT REFERENCES streets(id), name TEXT);
  ALTER TABLE estates ADD COLUMN grid TEXT REFERENCES grids(id);
  CREATE INDEX estates_grid ON estates(grid);
  PRAGMA user_version = 3;`;

export function describeRegistry(engine: string, factory: DatabaseFactory): void {
  describe(`registry repository on ${engine}`, () => {
    let t: DatabaseUnderTest;
    const opened: Registry[] = [];
    let clock = 1_000;
    const open = async (pollMs = 1000): Promise<Registry> => {
      const r = await openRegistry(t.db, { log: silent, pollMs, now: () => clock });
      opened.push(r);
      return r;
    };
    beforeEach(async () => {
      t = await factory();
      clock = 1_000;
    });
    afterEach(async () => {
      for (const r of opened.splice(0)) await r.close();
      await t.cleanup();
    });

    it('streets and estates: an estate names an existing street; updates keep what they do not set', async () => {
      const r = await open();
      expect(await r.addStreet('east-street', 'East Street')).toEqual({ id: 'east-street', name: 'East Street' });
      await expect(r.addEstate('maple', { street: 'nowhere' })).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_STREET' });
      expect(r.getEstate('maple')).toBeUndefined();
      expect(await r.addEstate('maple', { name: '枫林苑' })).toEqual({ id: 'maple', street: null, grid: null, name: '枫林苑' });
      expect(await r.addEstate('maple', { street: 'east-street' })).toEqual({ id: 'maple', street: 'east-street', grid: null, name: '枫林苑' });
      expect(await r.addStreet('east-street')).toEqual({ id: 'east-street', name: 'East Street' }); // no name: kept
      expect(await r.addStreet('east-street', '东街道')).toEqual({ id: 'east-street', name: '东街道' });
      await expect(r.addStreet('East!')).rejects.toMatchObject({ code: 'RB_ERR_BAD_ID' });
      await expect(r.addEstate("x' OR 1=1 --")).rejects.toMatchObject({ code: 'RB_ERR_BAD_ID' });
      expect(r.listStreets()).toEqual([{ id: 'east-street', name: '东街道' }]);
      expect(r.getEstate('maple')).toEqual({ id: 'maple', street: 'east-street', grid: null, name: '枫林苑' });
    });

    it('grids belong to a street; an estate given a grid takes its street; mismatches are refused; scopes resolve', async () => {
      const r = await open();
      await r.addStreet('east');
      await r.addStreet('west');
      expect(await r.addGrid('g1', { street: 'east', name: 'Grid 1' })).toEqual({ id: 'g1', street: 'east', name: 'Grid 1' });
      await r.addGrid('g2', { street: 'east' });
      await expect(r.addGrid('g3', { street: 'nowhere' })).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_STREET' });
      expect(await r.addEstate('maple', { grid: 'g1', name: 'Maple' })).toEqual({ id: 'maple', street: 'east', grid: 'g1', name: 'Maple' });
      await expect(r.addEstate('elm', { grid: 'nope' })).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_GRID' });
      await expect(r.addEstate('elm', { street: 'west', grid: 'g1' })).rejects.toThrow(/belongs to street east/);
      await r.addEstate('elm', { grid: 'g2' });
      await r.addEstate('oak', { street: 'west' });
      expect(r.listGrids()).toEqual([
        { id: 'g1', street: 'east', name: 'Grid 1' },
        { id: 'g2', street: 'east', name: null },
      ]);
      expect(r.estatesInScope(['grid:g1'])).toEqual(['maple']);
      expect(r.estatesInScope(['street:east'])).toEqual(['elm', 'maple']);
      expect(r.estatesInScope(['street:west', 'estate:unregistered', 'grid:g2'])).toEqual(['elm', 'oak', 'unregistered']);
      expect(r.estatesInScope(['junk', ':x', 'grid:', 'street:BAD!', 'city:east'])).toEqual([]);
    });

    it('lists in the same order on both engines (code-unit order of ids, not the server collation)', async () => {
      const r = await open();
      for (const id of ['ab', 'a-b', 'b', 'a', 'a0']) await r.addEstate(id);
      expect(r.listEstates().map((e) => e.id)).toEqual(['a', 'a-b', 'a0', 'ab', 'b']);
      for (const g of ['gw-10', 'gw-2', 'gw-1']) await r.addGateway('ab', g);
      await r.addGateway('a-b', 'gw-9');
      expect(r.listGateways().map((g) => `${g.estate}/${g.gateway}`)).toEqual(['a-b/gw-9', 'ab/gw-1', 'ab/gw-10', 'ab/gw-2']);
    });

    it('gateways: add registers the estate; rotate and revoke change what authenticates, with their times', async () => {
      clock = Date.UTC(2031, 0, 1); // past 2^32 ms: a BIGINT, read back as a number
      const r = await open();
      const first = await r.addGateway('maple', 'gw-1');
      expect(first).toEqual({ estate: 'maple', gateway: 'gw-1', username: 'maple.gw-1', password: expect.any(String) });
      expect(r.getEstate('maple')).toEqual({ id: 'maple', street: null, grid: null, name: null });
      expect(await r.authenticate(first.username, first.password)).toEqual({ estate: 'maple', gateway: 'gw-1' });
      clock += 1000;
      const second = await r.rotateGateway('maple', 'gw-1');
      expect(await r.authenticate(first.username, first.password)).toBeNull(); // cached before, refused now
      expect(await r.authenticate(second.username, second.password)).toEqual({ estate: 'maple', gateway: 'gw-1' });
      expect(r.listGateways()).toEqual([{ estate: 'maple', gateway: 'gw-1', username: 'maple.gw-1', createdAt: Date.UTC(2031, 0, 1), rotatedAt: Date.UTC(2031, 0, 1) + 1000, revokedAt: null }]);
      clock += 1000;
      const revoked = await r.revokeGateway('maple', 'gw-1');
      expect(revoked).toEqual({ estate: 'maple', gateway: 'gw-1', revokedAt: clock });
      clock += 1000;
      expect(await r.revokeGateway('maple', 'gw-1')).toEqual(revoked); // idempotent: the first time
      expect(await r.authenticate(second.username, second.password)).toBeNull();
      await expect(r.rotateGateway('maple', 'gw-1')).rejects.toMatchObject({ code: 'RB_ERR_GATEWAY_REVOKED' });
      expect(r.listGateways()[0]!.revokedAt).toBe(revoked.revokedAt);
      const again = await r.addGateway('maple', 'gw-1'); // re-activates with a new secret
      expect(await r.authenticate(second.username, second.password)).toBeNull();
      expect(await r.authenticate(again.username, again.password)).not.toBeNull();
      expect(r.listGateways()[0]).toMatchObject({ revokedAt: null, rotatedAt: clock });
      expect(await r.authenticate('nobody.gw', again.password)).toBeNull();
      expect(await r.authenticate(again.username, 'x'.repeat(201))).toBeNull();
    });

    it('unknown gateways and bad ids get coded errors', async () => {
      const r = await open();
      await expect(r.rotateGateway('maple', 'nope')).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_GATEWAY' });
      await expect(r.revokeGateway('maple', 'nope')).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_GATEWAY' });
      await expect(r.revokeGateway('Maple!', 'gw-1')).rejects.toMatchObject({ code: 'RB_ERR_BAD_ID' });
      await expect(r.addGateway('maple', 'a'.repeat(65))).rejects.toMatchObject({ code: 'RB_ERR_BAD_ID' });
      expect(r.listGateways()).toEqual([]);
    });

    it('devices come from gateway status, show at once, are stored, and an offline gateway takes its devices offline', async () => {
      const r = await open();
      const base = { v: 1 as const, estate: 'maple', gateway: 'gw-1', ts: 1_000 };
      const writes = [
        r.recordStatus({ ...base, state: 'online', devices: { 'gate-1': { online: true, lastSeen: 900 }, 'cam-1': { online: false } } }, 2_000),
        r.recordStatus({ ...base, ts: 5_000, state: 'online', devices: { 'gate-1': { online: true, lastSeen: 4_000 } } }, 6_000),
        // an older lastSeen never moves lastSeen back
        r.recordStatus({ ...base, ts: 5_500, state: 'online', devices: { 'gate-1': { online: true, lastSeen: 3_000 } } }, 6_000),
        r.recordStatus({ ...base, gateway: 'gw-2', state: 'online', devices: { 'cam-9': { online: true, lastSeen: 99_999 } } }, 7_000),
      ];
      const expected = [
        { estate: 'maple', gateway: 'gw-1', device: 'cam-1', firstSeen: 1_000, lastSeen: 1_000, online: false },
        { estate: 'maple', gateway: 'gw-1', device: 'gate-1', firstSeen: 900, lastSeen: 4_000, online: true },
        { estate: 'maple', gateway: 'gw-2', device: 'cam-9', firstSeen: 7_000, lastSeen: 7_000, online: true }, // lastSeen capped at receipt
      ];
      expect(r.listDevices({ estate: 'maple' })).toEqual(expected); // before the writes commit
      await Promise.all(writes);
      expect((await open()).listDevices()).toEqual(expected); // what another registry reads back
      await r.recordStatus({ ...base, ts: 7_000, state: 'offline', reason: 'lwt' });
      expect(r.listDevices().filter((d) => d.online).map((d) => d.device)).toEqual(['cam-9']);
      expect((await open()).listDevices().filter((d) => d.online).map((d) => d.device)).toEqual(['cam-9']);
      expect(r.listDevices({ estate: 'other' })).toEqual([]);
    });

    it('what one registry writes, another on the same database (the CLI) sees: reads after a poll, credential changes once each', async () => {
      const hub = await open(50);
      const cli = await open(60_000);
      await hub.addGateway('maple', 'gw-1');
      const heard: string[] = [];
      hub.watchChanges((c) => heard.push(`${c.kind} ${c.estate}/${c.gateway}`));
      await cli.addStreet('east', '东街道');
      await cli.addEstate('elm', { street: 'east', name: '桂花园' });
      const creds = await cli.rotateGateway('maple', 'gw-1');
      await cli.revokeGateway('maple', 'gw-1');
      await until(() => heard.length === 2);
      expect(heard).toEqual(['rotate maple/gw-1', 'revoke maple/gw-1']);
      expect(hub.getEstate('elm')).toEqual({ id: 'elm', street: 'east', grid: null, name: '桂花园' });
      expect(hub.estatesInScope(['street:east'])).toEqual(['elm']);
      expect(hub.listGateways()[0]!.revokedAt).toEqual(expect.any(Number));
      expect(await hub.authenticate(creds.username, creds.password)).toBeNull();
      // Changes made through the hub's own object are heard at once, and once.
      await hub.addGateway('maple', 'gw-2');
      expect(heard).toEqual(['rotate maple/gw-1', 'revoke maple/gw-1', 'add maple/gw-2']);
      await new Promise((r) => setTimeout(r, 250));
      expect(heard).toHaveLength(3);
      // The CLI's copy is its own: it sees the hub's writes when it reloads (its next write here).
      await cli.addStreet('west');
      expect(cli.listGateways().map((g) => g.gateway)).toEqual(['gw-1', 'gw-2']);
    });

    it('a change id that commits after a later one (PostgreSQL identities) is still heard', async () => {
      const hub = await open(30);
      await hub.addGateway('maple', 'gw-1');
      await hub.addGateway('maple', 'gw-2');
      const heard: CredentialChange[] = [];
      hub.watchChanges((c) => heard.push(c));
      const { db } = t.db;
      const last = (await db.selectFrom('registry_changes').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow()).id as number;
      // Transaction A took id last+1, B took last+2; B commits first, A a few polls later.
      await db.insertInto('registry_changes').values({ id: last + 2, kind: 'revoke', estate: 'maple', gateway: 'gw-2', target: null, at: 2 }).execute();
      await until(() => heard.length === 1);
      await new Promise((r) => setTimeout(r, 100));
      await db.insertInto('registry_changes').values({ id: last + 1, kind: 'revoke', estate: 'maple', gateway: 'gw-1', target: null, at: 1 }).execute();
      await until(() => heard.length === 2);
      expect(heard.map((c) => [c.seq, c.gateway])).toEqual([
        [last + 2, 'gw-2'],
        [last + 1, 'gw-1'],
      ]);
      await new Promise((r) => setTimeout(r, 100));
      expect(heard).toHaveLength(2);
    });

    it('keeps everything across a restart', async () => {
      const r = await open();
      await r.addStreet('east', '东街道');
      await r.addGrid('g1', { street: 'east', name: '一网格' });
      await r.addEstate('maple', { grid: 'g1', name: '枫林苑' });
      const creds = await r.addGateway('maple', 'gw-1');
      await r.close();
      const again = await open();
      expect(again.listStreets()).toEqual([{ id: 'east', name: '东街道' }]);
      expect(again.listGrids()).toEqual([{ id: 'g1', street: 'east', name: '一网格' }]);
      expect(again.listEstates()).toEqual([{ id: 'maple', street: 'east', grid: 'g1', name: '枫林苑' }]);
      expect(again.listGateways()).toEqual(r.listGateways());
      expect(await again.authenticate(creds.username, creds.password)).toEqual({ estate: 'maple', gateway: 'gw-1' });
    });

    it('imports a legacy registry.db once (hashes, times, devices), keeps it aside, and never twice', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rb-legacy-registry-'));
      try {
        const file = join(dir, 'registry.db');
        const old = new Database(file);
        old.pragma('journal_mode = WAL');
        old.exec(LEGACY_DDL);
        const hash = await hashSecret('legacy-secret-0123456789');
        old.prepare('INSERT INTO streets VALUES (?, ?)').run('east', '东街道');
        old.prepare('INSERT INTO grids VALUES (?, ?, ?)').run('g1', 'east', '一网格');
        old.prepare('INSERT INTO estates (id, street, name, grid) VALUES (?, ?, ?, ?)').run('maple', 'east', '枫林苑', 'g1');
        old.prepare('INSERT INTO estates (id) VALUES (?)').run('elm');
        const ins = old.prepare('INSERT INTO gateways (estate, gateway, username, secret_hash, created_at, rotated_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
        ins.run('maple', 'gw-1', 'maple.gw-1', hash, 1_000, 2_000, null);
        ins.run('elm', 'gw-1', 'elm.gw-1', hash, 1_500, null, Date.UTC(2031, 0, 1));
        old.prepare('INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?)').run('maple', 'gw-1', 'gate-1', 900, 5_000, 1);
        old.prepare('INSERT INTO credential_changes (estate, gateway, kind, at) VALUES (?, ?, ?, ?)').run('elm', 'gw-1', 'revoke', 3_000);
        old.close();

        expect(await importLegacyRegistry(t.db, dir, silent)).toEqual({ streets: 1, grids: 1, estates: 2, gateways: 2, devices: 1 });
        expect(existsSync(file)).toBe(false);
        expect(existsSync(`${file}.migrated`)).toBe(true);
        const r = await open();
        expect(r.listEstates()).toEqual([
          { id: 'elm', street: null, grid: null, name: null },
          { id: 'maple', street: 'east', grid: 'g1', name: '枫林苑' },
        ]);
        expect(r.listGrids()).toEqual([{ id: 'g1', street: 'east', name: '一网格' }]);
        expect(r.listGateways()).toEqual([
          { estate: 'elm', gateway: 'gw-1', username: 'elm.gw-1', createdAt: 1_500, rotatedAt: null, revokedAt: Date.UTC(2031, 0, 1) },
          { estate: 'maple', gateway: 'gw-1', username: 'maple.gw-1', createdAt: 1_000, rotatedAt: 2_000, revokedAt: null },
        ]);
        expect(r.listDevices()).toEqual([{ estate: 'maple', gateway: 'gw-1', device: 'gate-1', firstSeen: 900, lastSeen: 5_000, online: true }]);
        expect(await r.authenticate('maple.gw-1', 'legacy-secret-0123456789')).toEqual({ estate: 'maple', gateway: 'gw-1' });
        expect(await r.authenticate('elm.gw-1', 'legacy-secret-0123456789')).toBeNull(); // revoked stays revoked
        // After the import the registry works as usual (on PostgreSQL: its change ids start fresh).
        await r.addGateway('maple', 'gw-2');
        // Idempotent: nothing to do without the file; an old file put back is left alone.
        expect(await importLegacyRegistry(t.db, dir, silent)).toEqual({ streets: 0, grids: 0, estates: 0, gateways: 0, devices: 0 });
        const putBack = new Database(file);
        putBack.exec(LEGACY_DDL);
        putBack.prepare('INSERT INTO estates (id) VALUES (?)').run('put-back');
        putBack.close();
        expect((await importLegacyRegistry(t.db, dir, silent)).estates).toBe(0);
        expect(existsSync(file)).toBe(true);
        expect((await open()).getEstate('put-back')).toBeUndefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('imports a registry.db written before versions (only gateways): each gateway keeps working, its estate registered', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rb-legacy-registry-'));
      try {
        const old = new Database(join(dir, 'registry.db'));
        old.exec(`CREATE TABLE gateways (estate TEXT NOT NULL, gateway TEXT NOT NULL, username TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL,
          created_at INTEGER NOT NULL, revoked_at INTEGER, PRIMARY KEY (estate, gateway));`);
        old.prepare('INSERT INTO gateways VALUES (?, ?, ?, ?, ?, ?)').run('maple', 'gw-1', 'maple.gw-1', await hashSecret('old-secret-0123456789'), 1_000, null);
        old.close();
        expect(await importLegacyRegistry(t.db, dir, silent)).toEqual({ streets: 0, grids: 0, estates: 1, gateways: 1, devices: 0 });
        const r = await open();
        expect(r.listEstates()).toEqual([{ id: 'maple', street: null, grid: null, name: null }]);
        expect(r.listGateways()).toEqual([{ estate: 'maple', gateway: 'gw-1', username: 'maple.gw-1', createdAt: 1_000, rotatedAt: null, revokedAt: null }]);
        expect(await r.authenticate('maple.gw-1', 'old-secret-0123456789')).toEqual({ estate: 'maple', gateway: 'gw-1' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
