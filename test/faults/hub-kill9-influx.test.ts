import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { clientIdFor, topics } from '../../protocol/index.js';
import { rawQuery } from '../hub/store/influx-support.js';
import { runCli, startCli, stopProcess } from '../support/cli.js';
import { makeEvent, sleep, waitFor } from '../support/hub.js';
import { freePort, waitForPort } from '../support/ports.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { useInfluxd } from '../support/use-influxd.js';

const server = useInfluxd();
const ESTATE = 'kill-influx';

/** Every event id InfluxDB holds (the database is this test's alone). */
async function idsInInflux(db: string): Promise<string[]> {
  const series = await rawQuery(server().url, db, 'SELECT "id" FROM "raw"."events"');
  return series.flatMap((s) => s.values.map((v) => String(v[1])));
}

describe('hub on InfluxDB killed with SIGKILL while its writes to InfluxDB go nowhere', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-hubkill-influx-'));
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of closers) await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('acknowledged once in its event log, every event reaches InfluxDB after the restart', async () => {
    const db = 'rb_kill_influx';
    const dataDir = join(dir, 'hub');
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    // The hub reaches InfluxDB through a link the test can turn into a black hole.
    const link = await startTcpProxy(Number(new URL(server().url).port));
    closers.push(() => link.close());
    const args = ['hub', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn', '--influx-url', `http://127.0.0.1:${link.port}/${db}`];
    const creds = JSON.parse((await runCli(['hub', 'gateway', 'add', '--data-dir', dataDir, '--estate', ESTATE, '--gateway', 'gw-1'])).stdout) as { username: string; password: string };
    let hub = startCli(args);
    await waitForPort(mqttPort);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: clientIdFor(ESTATE, 'gw-1'), username: creds.username, password: creds.password, clean: true, reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    const acked = new Set<string>();
    let sent = 0;
    const publish = async (n: number): Promise<void> => {
      const batch = Array.from({ length: n }, () => makeEvent({ estate: ESTATE, gateway: 'gw-1', device: 'gate-1', seq: ++sent }));
      await Promise.all(
        batch.map((e) =>
          client
            .publishAsync(topics.event(ESTATE, 'gw-1', 'gate-1'), JSON.stringify(e), { qos: 1 })
            .then(() => void acked.add(e.id))
            .catch(() => undefined),
        ),
      );
    };
    try {
      // Some reach InfluxDB the ordinary way.
      for (let i = 0; i < 9; i++) await publish(200);
      expect(await waitFor(async () => (await idsInInflux(db)).length >= 1_800, 20_000, 200)).toBe(true);
      // ...and the writer writes directly (a write slower than 2 s on a busy machine sends it to
      // the spool, and the spool takes everything until it is drained).
      const direct = async (): Promise<boolean> => {
        const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
        return /^rb_influx_spool_mode 0$/m.test(text) && /^rb_influx_spool_depth 0$/m.test(text);
      };
      expect(await waitFor(direct, 20_000, 100)).toBe(true);
      // The link to InfluxDB swallows everything: what is acknowledged now is in the hub's event log
      // and nowhere else (the writer spools a write only when it had no answer for 2 s).
      link.blackhole(true);
      await publish(200);
      expect(acked.size).toBe(2_000);
      await stopProcess(hub, 'SIGKILL');
    } finally {
      client.end(true);
    }
    // The kill left some only in the log: neither in InfluxDB nor in the spool.
    const spool = new Database(join(dataDir, 'influx-spool.db'), { readonly: true });
    const spooled = spool.prepare('SELECT id FROM spool').pluck().all() as string[];
    spool.close();
    const outside = new Set([...(await idsInInflux(db)), ...spooled]);
    expect(outside.size).toBeLessThan(2_000);

    // Restart on the same data dir: the InfluxDB consumer resumes from its cursor.
    link.blackhole(false);
    hub = startCli(args);
    try {
      await waitForPort(mqttPort);
      expect(await waitFor(async () => (await idsInInflux(db)).length >= 2_000, 30_000, 200)).toBe(true);
      await sleep(500);
    } finally {
      await stopProcess(hub, 'SIGTERM');
    }
    const ids = await idsInInflux(db);
    expect(new Set(ids).size).toBe(ids.length); // none twice
    const missing = [...acked].filter((id) => !ids.includes(id));
    expect(missing, `${missing.length} acknowledged events not in InfluxDB`).toEqual([]);
    expect(ids.length).toBe(acked.size);
  }, 120_000);
});
