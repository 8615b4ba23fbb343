import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../hub/platform/db/index.js';
import { clientIdFor, topics } from '../../protocol/index.js';
import { runCli, startCli, stopProcess } from '../support/cli.js';
import { makeEvent, sleep, waitFor } from '../support/hub.js';
import { freePort, waitForPort } from '../support/ports.js';

/**
 * `red-butler hub backup --out FILE` (issue 16, item 1): one consistent copy of hub.db, taken while
 * the hub runs and a gateway keeps publishing; the copy opens as a hub database with the users,
 * gateways, alerts and events of the original.
 */
describe('red-butler hub backup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-backup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the running hub database online; refuses to overwrite; on PostgreSQL names pg_dump', async () => {
    const dataDir = join(dir, 'data');
    const add = await runCli(['hub', 'gateway', 'add', '--data-dir', dataDir, '--estate', 'bk-court', '--gateway', 'gw-1']);
    expect(add.code, add.stderr).toBe(0);
    const creds = JSON.parse(add.stdout) as { username: string; password: string };
    const user = await runCli(['hub', 'user', 'add', '--data-dir', dataDir, '--name', 'vol-bk', '--role', 'volunteer', '--scope', 'estate:bk-court']);
    expect(user.code, user.stderr).toBe(0);

    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const hub = startCli(['hub', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn'], {
      RB_API_TOKEN: 'backup-test-api-token-0123456789',
    });
    const out = join(dir, 'backup', 'hub-copy.db');
    let published = 0;
    try {
      await waitForPort(mqttPort, 20_000);
      const gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: clientIdFor('bk-court', 'gw-1'), username: creds.username, password: creds.password, reconnectPeriod: 0 });
      await gw.publishAsync(topics.event('bk-court', 'gw-1', 'gate-1'), JSON.stringify(makeEvent({ estate: 'bk-court', gateway: 'gw-1', device: 'gate-1', type: 'door.forced' })), { qos: 1 });
      const alertsNow = async () =>
        ((await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/alerts?estate=bk-court`, { headers: { authorization: 'Bearer backup-test-api-token-0123456789' } })).json()) as { items: unknown[] }).items.length;
      expect(await waitFor(async () => (await alertsNow()) === 1, 10_000, 100)).toBe(true);
      published = 1;
      // The gateway keeps publishing while the backup runs: the copy is one moment, not a torn file.
      let stop = false;
      const stream = (async () => {
        while (!stop) {
          await gw.publishAsync(topics.event('bk-court', 'gw-1', 'gate-2'), JSON.stringify(makeEvent({ estate: 'bk-court', gateway: 'gw-1', device: 'gate-2', type: 'door.opened' })), { qos: 1 });
          published += 1;
          await sleep(5);
        }
      })();
      await sleep(200);
      const r = await runCli(['hub', 'backup', '--data-dir', dataDir, '--out', out]);
      stop = true;
      await stream;
      await gw.endAsync();
      expect(r.code, r.stderr).toBe(0);
      const printed = JSON.parse(r.stdout) as { out: string; bytes: number };
      expect(printed.out).toBe(out);
      expect(printed.bytes).toBeGreaterThan(4096);
    } finally {
      await stopProcess(hub, 'SIGTERM');
    }

    // The copy is a whole hub database: integrity ok, and the rows of the original as of its moment.
    const copy = await openDatabase({ file: out, log: pino({ level: 'silent' }) });
    try {
      const { db } = copy;
      expect((await db.selectFrom('users').select('name').execute()).map((u) => u.name)).toEqual(['vol-bk']);
      expect((await db.selectFrom('gateways').select('gateway').execute()).map((g) => g.gateway)).toEqual(['gw-1']);
      expect((await db.selectFrom('alerts').select('rule').execute()).map((a) => a.rule)).toEqual(['door.forced']);
      const logged = await db.selectFrom('event_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(logged.n)).toBeGreaterThanOrEqual(2);
      expect(Number(logged.n)).toBeLessThanOrEqual(published + 10); // events, plus statuses and connection changes
    } finally {
      await copy.close();
    }

    const again = await runCli(['hub', 'backup', '--data-dir', dataDir, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists already');

    const pgUrl = await runCli(['hub', 'backup', '--db-url', 'postgres://rb@127.0.0.1:1/rb', '--out', join(dir, 'pg.db')]);
    expect(pgUrl.code).toBe(2);
    expect(pgUrl.stderr).toContain('pg_dump');
    expect(existsSync(join(dir, 'pg.db'))).toBe(false);
  }, 90_000);
});
