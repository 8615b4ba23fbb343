import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type HubDatabase } from '../../hub/platform/db/index.js';
import { openRegistry, type Registry } from '../../hub/registry.js';

/**
 * The registry in `{dataDir}/hub.db` as the hub and the CLI open it: two connections to one SQLite
 * file, and the authentication cache. The repository's contract on both engines is
 * test/hub/platform/registry.contract.ts.
 */

const root = mkdtempSync(join(tmpdir(), 'rb-registry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const log = pino({ level: 'silent' });
let n = 0;
const open: Array<{ close(): Promise<void> }> = [];
async function fresh(dir = join(root, `r${++n}`), pollMs?: number): Promise<Registry> {
  const db: HubDatabase = await openDatabase({ file: join(dir, 'hub.db'), log });
  open.push(db);
  const r = await openRegistry(db, { log, ...(pollMs !== undefined ? { pollMs } : {}) });
  open.push(r);
  return r;
}
afterEach(async () => {
  for (const r of open.splice(0).reverse()) await r.close();
});

describe('two processes on one hub.db', () => {
  it('a revoke written by another connection (the CLI) reaches a watcher within the poll interval', async () => {
    const dir = join(root, 'shared');
    const hubSide = await fresh(dir);
    await hubSide.addGateway('maple', 'gw-1');
    const seen: string[] = [];
    hubSide.watchChanges((c) => seen.push(`${c.kind} ${c.estate}/${c.gateway}`), 100);
    const cliSide = await fresh(dir);
    await cliSide.revokeGateway('maple', 'gw-1');
    await cliSide.addEstate('elm', { name: '桂花园' });
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual(['revoke maple/gw-1']);
    expect(hubSide.getEstate('elm')).toEqual({ id: 'elm', street: null, grid: null, name: '桂花园' });
    // local changes are heard once, at once
    await hubSide.addGateway('maple', 'gw-2');
    expect(seen).toEqual(['revoke maple/gw-1', 'add maple/gw-2']);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(2);
  });
});

describe('authentication cache', () => {
  it('a reconnect storm of 20 known gateways costs almost no scrypt time (measured)', async () => {
    const r = await fresh();
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
