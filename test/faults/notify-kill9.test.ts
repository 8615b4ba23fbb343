import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { clientIdFor, topics } from '../../protocol/index.js';
import { stopProcess } from '../support/cli.js';
import { makeEvent, waitFor } from '../support/hub.js';
import { startNotifyProvider } from '../support/notify-provider.js';
import { freePort } from '../support/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/notify-hub.ts', import.meta.url));
const TOKEN = 'kill9-api-token-0123456789';

/** The hub process (test/faults/fixtures/notify-hub.ts); resolves once it printed `ready`, with what it printed before. */
async function startHub(args: Record<string, unknown>): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const ok = await waitFor(() => out.includes('ready\n') || proc.exitCode !== null, 60_000, 50);
  if (!ok || !out.includes('ready\n')) {
    proc.kill('SIGKILL');
    throw new Error(`the hub did not start:\n${err.slice(-3000)}`);
  }
  return { proc, out: () => out };
}

/**
 * Issue 17, "must show": kill -9 the hub with notifications queued and in flight at a slow provider
 * (which lives in this test process, outside the hub); after restart each notification reaches the
 * provider exactly once by its id. Rows the dead hub had sent but not recorded are sent again with
 * the same id, and the provider, keying idempotency on it, does not deliver them twice.
 */
describe('hub killed with SIGKILL while notifications are in flight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-notify-kill-'));
  const procs: ChildProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await stopProcess(p, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each notification exactly once by id after the restart', async () => {
    const provider = await startNotifyProvider();
    try {
      provider.delayMs = 1_500; // slow: requests are in flight when the hub dies
      const VOLUNTEERS = 4;
      const DOORS = 5;
      const args = { dataDir: join(dir, 'hub'), httpPort: await freePort(), mqttPort: await freePort(), providerUrl: provider.url, volunteers: VOLUNTEERS };
      let hub = await startHub(args);
      procs.push(hub.proc);
      const creds = JSON.parse(hub.out().split('\n')[0]!) as { username: string; password: string };
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${args.mqttPort}`, { clientId: clientIdFor('maple', 'gw-1'), username: creds.username, password: creds.password, reconnectPeriod: 0 });
      client.on('error', () => undefined);
      for (let i = 0; i < DOORS; i++) {
        const e = makeEvent({ estate: 'maple', gateway: 'gw-1', device: `door-${i}`, seq: i + 1 });
        await client.publishAsync(topics.event('maple', 'gw-1', `door-${i}`), JSON.stringify(e), { qos: 1 });
      }
      // Requests have reached the provider, and it has not answered them yet: kill the hub now.
      expect(await waitFor(() => provider.requests.size >= 3, 20_000)).toBe(true);
      expect(provider.deliveries.size).toBeLessThan(DOORS * VOLUNTEERS);
      await stopProcess(hub.proc, 'SIGKILL');
      client.end(true);
      const inFlightAtKill = [...provider.requests.keys()];

      hub = await startHub(args);
      procs.push(hub.proc);
      const api = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${args.httpPort}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        return (await res.json()) as unknown;
      };
      let rows: Array<{ id: string; state: string; attempts: number }> = [];
      const allSent = await waitFor(async () => {
        const alerts = ((await api('/api/v1/alerts?estate=maple')) as { items: Array<{ id: string }> }).items;
        rows = [];
        for (const a of alerts) rows.push(...((await api(`/api/v1/alerts/${a.id}/notifications`)) as typeof rows));
        return rows.length === DOORS * VOLUNTEERS && rows.every((r) => r.state === 'sent');
      }, 60_000, 250);
      expect(allSent, JSON.stringify(rows.map((r) => r.state))).toBe(true);

      // Each notification reached the provider exactly once by id; nothing else reached it.
      for (const r of rows) expect(provider.deliveries.get(r.id), r.id).toBe(1);
      expect(provider.deliveries.size).toBe(DOORS * VOLUNTEERS);
      // The crash path was taken: rows in flight at the kill were sent again, under the same id.
      const resent = inFlightAtKill.filter((id) => (provider.requests.get(id) ?? 0) >= 2);
      expect(resent.length).toBeGreaterThan(0);
      await stopProcess(hub.proc, 'SIGTERM');
    } finally {
      await provider.close();
    }
  }, 180_000);
});
