import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { clientIdFor, topics } from '../../protocol/index.js';
import { runCli, startCli, stopProcess } from '../support/cli.js';
import { makeEvent, waitFor } from '../support/hub.js';
import { freePort, waitForPort } from '../support/ports.js';
import { usePostgres } from '../support/postgres.js';

/**
 * `red-butler hub --db-url postgres://…` (issue 16, item 1): the hub process and its admin CLI open
 * the same PostgreSQL database from the same setting (flag, or env RB_DB_URL). A gateway and a
 * user made by the CLI work against the running hub; what they made is in PostgreSQL, not in a
 * hub.db file; and it is all still there after the hub restarts.
 */
describe('the hub on PostgreSQL (--db-url)', () => {
  const postgres = usePostgres();
  const dir = mkdtempSync(join(tmpdir(), 'rb-hub-pg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('admin CLI and hub share the database; login, a forced door and its alert; all kept across a restart', async () => {
    const url = await postgres().createDatabase('hub_cli');
    const dataDir = join(dir, 'data');
    const admin = async (args: string[]) => {
      const r = await runCli(['hub', ...args, '--data-dir', dataDir, '--db-url', url], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    await admin(['estate', 'add', '--estate', 'pg-court', '--name', '枫林苑']);
    const creds = (await admin(['gateway', 'add', '--estate', 'pg-court', '--gateway', 'gw-1'])) as { username: string; password: string };
    await admin(['user', 'add', '--name', 'vol-pg', '--role', 'volunteer', '--scope', 'estate:pg-court', '--password', 'volunteer-pass-1']);
    expect(existsSync(join(dataDir, 'hub.db')), 'the CLI wrote a SQLite hub.db beside a PostgreSQL url').toBe(false);

    // The rows are in PostgreSQL itself.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const users = await client.query<{ name: string }>('SELECT name FROM users');
      expect(users.rows.map((r) => r.name)).toEqual(['vol-pg']);
      const gateways = await client.query<{ gateway: string }>('SELECT gateway FROM gateways');
      expect(gateways.rows.map((r) => r.gateway)).toEqual(['gw-1']);
    } finally {
      await client.end();
    }

    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const args = ['hub', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn'];
    const run = async <T>(fn: () => Promise<T>): Promise<T> => {
      // The url from the environment this time: the same setting, another way to give it.
      const hub = startCli(args, { RB_DB_URL: url });
      try {
        await waitForPort(httpPort, 20_000);
        await waitForPort(mqttPort, 20_000);
        return await fn();
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- hub output ---\n${hub.output()}`);
      } finally {
        await stopProcess(hub, 'SIGTERM');
      }
    };
    const login = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'vol-pg', password: 'volunteer-pass-1' }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { token: string }).token;
    };
    const openAlerts = async (token: string) => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/alerts?estate=pg-court`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: Array<{ rule: string; device: string; estateName?: string }> }).items;
    };

    const forced = makeEvent({ estate: 'pg-court', gateway: 'gw-1', device: 'gate-1', type: 'door.forced', data: { door: 1 } });
    await run(async () => {
      const token = await login();
      const gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        clientId: clientIdFor('pg-court', 'gw-1'),
        username: creds.username,
        password: creds.password,
        reconnectPeriod: 0,
      });
      try {
        await gw.publishAsync(topics.event('pg-court', 'gw-1', 'gate-1'), JSON.stringify(forced), { qos: 1 });
      } finally {
        await gw.endAsync();
      }
      expect(await waitFor(async () => (await openAlerts(token)).some((a) => a.rule === 'door.forced'), 10_000, 100)).toBe(true);
      const [alert] = await openAlerts(token);
      expect(alert).toMatchObject({ rule: 'door.forced', device: 'gate-1', estateName: '枫林苑' });
    });

    // Restarted: the user still logs in, the alert is still open.
    await run(async () => {
      const token = await login();
      expect((await openAlerts(token)).map((a) => a.rule)).toEqual(['door.forced']);
    });
  }, 120_000);
});
