import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Registry } from '../../hub/registry.js';
import { SCHEMA_VERSION } from '../../hub/registry-schema.js';

/** The registry on its own: schema migration, provisioning life cycle, streets/estates, devices, auth cache. */

const root = mkdtempSync(join(tmpdir(), 'rb-registry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const open: Registry[] = [];
function fresh(dir = join(root, `r${++n}`)): Registry {
  const r = openRegistry(dir);
  open.push(r);
  return r;
}
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

describe('schema', () => {
  it('upgrades a registry written before versioning; its gateways keep working', async () => {
    const dir = join(root, 'legacy');
    const old = fresh(dir);
    const creds = await old.addGateway('maple', 'gw-1');
    old.close();
    open.pop();
    // Make it look like the old file: only `gateways`, user_version 0.
    const db = new Database(join(dir, 'registry.db'));
    db.exec('DROP TABLE devices; DROP TABLE credential_changes; DROP TABLE estates; DROP TABLE grids; DROP TABLE streets; ALTER TABLE gateways DROP COLUMN rotated_at;');
    db.pragma('user_version = 0');
    db.close();

    const r = fresh(dir);
    expect(await r.authenticate(creds.username, creds.password)).toEqual({ estate: 'maple', gateway: 'gw-1' });
    expect(r.listEstates()).toEqual([{ id: 'maple', street: null, grid: null, name: null }]);
    const check = new Database(join(dir, 'registry.db'), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });
});

describe('gateway life cycle', () => {
  it('rotate: the new secret works, the old one is refused at once', async () => {
    const r = fresh();
    const first = await r.addGateway('maple', 'gw-1');
    expect(await r.authenticate(first.username, first.password)).not.toBeNull(); // now cached
    const second = await r.rotateGateway('maple', 'gw-1');
    expect(second.password).not.toBe(first.password);
    expect(await r.authenticate(first.username, first.password)).toBeNull();
    expect(await r.authenticate(second.username, second.password)).toEqual({ estate: 'maple', gateway: 'gw-1' });
    expect(r.listGateways()[0]!.rotatedAt).toEqual(expect.any(Number));
  });

  it('revoke: refused after, even with a cached secret; rotate refused; add re-activates with a new secret', async () => {
    const r = fresh();
    const creds = await r.addGateway('maple', 'gw-1');
    expect(await r.authenticate(creds.username, creds.password)).not.toBeNull();
    const revoked = r.revokeGateway('maple', 'gw-1');
    expect(revoked).toEqual({ estate: 'maple', gateway: 'gw-1', revokedAt: expect.any(Number) });
    expect(r.revokeGateway('maple', 'gw-1')).toEqual(revoked); // idempotent
    expect(await r.authenticate(creds.username, creds.password)).toBeNull();
    await expect(r.rotateGateway('maple', 'gw-1')).rejects.toMatchObject({ code: 'RB_ERR_GATEWAY_REVOKED' });
    const again = await r.addGateway('maple', 'gw-1');
    expect(await r.authenticate(creds.username, creds.password)).toBeNull();
    expect(await r.authenticate(again.username, again.password)).not.toBeNull();
    expect(r.listGateways()[0]!.revokedAt).toBeNull();
  });

  it('unknown gateways and bad ids get coded errors', async () => {
    const r = fresh();
    await expect(r.rotateGateway('maple', 'nope')).rejects.toMatchObject({ code: 'RB_ERR_UNKNOWN_GATEWAY' });
    expect(() => r.revokeGateway('maple', 'nope')).toThrow(expect.objectContaining({ code: 'RB_ERR_UNKNOWN_GATEWAY' }));
    expect(() => r.revokeGateway('Maple!', 'gw-1')).toThrow(expect.objectContaining({ code: 'RB_ERR_BAD_ID' }));
  });

  it('a revoke written by another connection (the CLI) reaches a watcher within the poll interval', async () => {
    const dir = join(root, 'shared');
    const hubSide = fresh(dir);
    await hubSide.addGateway('maple', 'gw-1');
    const seen: string[] = [];
    hubSide.watchChanges((c) => seen.push(`${c.kind} ${c.estate}/${c.gateway}`), 100);
    const cliSide = fresh(dir);
    cliSide.revokeGateway('maple', 'gw-1');
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual(['revoke maple/gw-1']);
    // local changes are heard once, at once
    await hubSide.addGateway('maple', 'gw-2');
    expect(seen).toEqual(['revoke maple/gw-1', 'add maple/gw-2']);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(2);
  });
});

describe('streets, estates, devices', () => {
  it('an estate belongs to one (existing) street; the street is optional', () => {
    const r = fresh();
    expect(r.addStreet('east-street', 'East Street')).toEqual({ id: 'east-street', name: 'East Street' });
    expect(() => r.addEstate('maple', { street: 'nowhere' })).toThrow(expect.objectContaining({ code: 'RB_ERR_UNKNOWN_STREET' }));
    expect(r.addEstate('maple', { name: 'Maple Court' })).toEqual({ id: 'maple', street: null, grid: null, name: 'Maple Court' });
    expect(r.addEstate('maple', { street: 'east-street' })).toEqual({ id: 'maple', street: 'east-street', grid: null, name: 'Maple Court' });
  });

  it('devices come from gateway status; an offline gateway takes its devices offline', () => {
    const r = fresh();
    const base = { v: 1 as const, estate: 'maple', gateway: 'gw-1', ts: 1_000 };
    r.recordStatus({ ...base, state: 'online', devices: { 'gate-1': { online: true, lastSeen: 900 }, 'cam-1': { online: false } } }, 2_000);
    r.recordStatus({ ...base, ts: 5_000, state: 'online', devices: { 'gate-1': { online: true, lastSeen: 4_000 } } }, 6_000);
    expect(r.listDevices({ estate: 'maple' })).toEqual([
      { estate: 'maple', gateway: 'gw-1', device: 'cam-1', firstSeen: 1_000, lastSeen: 1_000, online: false },
      { estate: 'maple', gateway: 'gw-1', device: 'gate-1', firstSeen: 900, lastSeen: 4_000, online: true },
    ]);
    r.recordStatus({ ...base, ts: 7_000, state: 'offline', reason: 'lwt' });
    expect(r.listDevices().every((d) => !d.online)).toBe(true);
    expect(r.listDevices({ estate: 'other' })).toEqual([]);
  });
});

describe('authentication cache', () => {
  it('a reconnect storm of 20 known gateways costs almost no scrypt time (measured)', async () => {
    const r = fresh();
    const creds = await Promise.all(Array.from({ length: 20 }, (_, i) => r.addGateway('maple', `gw-${i}`)));
    const storm = async (): Promise<number> => {
      const t0 = performance.now();
      const ok = await Promise.all(creds.map((c) => r.authenticate(c.username, c.password)));
      expect(ok.every((w) => w !== null)).toBe(true);
      return performance.now() - t0;
    };
    const cold = await storm();
    const warm = await storm();
    console.log(`auth cache: 20 gateways cold ${cold.toFixed(0)} ms (scrypt), warm ${warm.toFixed(1)} ms (cached)`);
    expect(warm).toBeLessThan(cold / 20);
    // a wrong password is still checked with scrypt and refused, never cached
    expect(await r.authenticate(creds[0]!.username, 'wrong')).toBeNull();
  }, 60_000);
});
