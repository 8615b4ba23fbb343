import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../hub/platform/db/index.js';
import { createSqliteStore } from '../../hub/store/sqlite.js';
import { silentLogger } from '../../lib/log.js';
import { clientIdFor, topics } from '../../protocol/index.js';
import { runCli, startCli, stopProcess } from '../support/cli.js';
import { makeEvent, sleep, waitFor } from '../support/hub.js';
import { freePort, waitForPort } from '../support/ports.js';

describe('hub killed with SIGKILL in the middle of a stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-hubkill-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every event it acknowledged, once', async () => {
    const dataDir = join(dir, 'hub');
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const args = ['hub', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn'];
    const creds = JSON.parse((await runCli(['hub', 'gateway', 'add', '--data-dir', dataDir, '--estate', 'kill-hub', '--gateway', 'gw-1'])).stdout) as {
      username: string;
      password: string;
    };
    let hub = startCli(args);
    await waitForPort(mqttPort);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: clientIdFor('kill-hub', 'gw-1'),
      username: creds.username,
      password: creds.password,
      clean: true,
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    const acked = new Set<string>();
    let sent = 0;
    let stop = false;
    const stream = (async () => {
      // A steady stream with up to 200 in flight, as a gateway's uplink would send.
      while (!stop && client.connected) {
        const batch = Array.from({ length: 200 }, () => makeEvent({ estate: 'kill-hub', gateway: 'gw-1', device: 'gate-1', seq: ++sent }));
        await Promise.all(
          batch.map((e) =>
            client
              .publishAsync(topics.event('kill-hub', 'gw-1', 'gate-1'), JSON.stringify(e), { qos: 1 })
              .then(() => void acked.add(e.id))
              .catch(() => undefined),
          ),
        );
      }
    })();
    await waitFor(() => acked.size >= 3_000, 60_000);
    await stopProcess(hub, 'SIGKILL');
    stop = true;
    await Promise.race([stream, sleep(3_000)]);
    client.end(true);
    const ackedAtKill = new Set(acked);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(3_000);
    expect(sent).toBeGreaterThan(ackedAtKill.size); // some were in flight, unacknowledged, when it died

    // Restart on the same data dir: everything acknowledged before the kill is there, once.
    hub = startCli(args);
    await waitForPort(mqttPort);
    await stopProcess(hub, 'SIGTERM');
    const hubDb = await openDatabase({ file: join(dataDir, 'hub.db'), log: silentLogger() });
    const store = createSqliteStore({ db: hubDb, log: silentLogger() });
    await store.start();
    const stored = await store.query({ estate: 'kill-hub', limit: 1_000_000 });
    await store.stop();
    await hubDb.close();
    const ids = new Set(stored.map((e) => e.id));
    expect(ids.size).toBe(stored.length); // none twice
    const missing = [...ackedAtKill].filter((id) => !ids.has(id));
    expect(missing, `${missing.length} acknowledged events lost`).toEqual([]);
  }, 120_000);
});
