import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../hub/snapshots.js';
import { runCli, startCli, stopProcess } from '../../support/cli.js';
import { freePort, waitForPort } from '../../support/ports.js';
import { usePostgres } from '../../support/postgres.js';

/**
 * Issue 18 item 6: a snapshot image uploaded through node A is served by node B. Two real hub
 * processes on one real PostgreSQL database, each with its own data dir: the bytes travel through
 * the table `snapshot_blobs`, not a node's files.
 */
const pgServer = usePostgres();
const API_TOKEN = 'snapshot-two-nodes-token-0123456789';

describe('snapshot images across two hub nodes on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-snap2-'));
  const procs: Array<ReturnType<typeof startCli>> = [];
  afterAll(async () => {
    for (const p of procs) await stopProcess(p);
    rmSync(dir, { recursive: true, force: true });
  });

  it('node B serves the image node A received, byte for byte, and neither node keeps a file', async () => {
    const dbUrl = await pgServer().createDatabase('snap_two_nodes');
    const start = async (node: string) => {
      const [httpPort, mqttPort] = [await freePort(), await freePort()];
      const proc = startCli(
        ['hub', '--db-url', dbUrl, '--data-dir', join(dir, node), '--node-id', node, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn'],
        { RB_API_TOKEN: API_TOKEN },
      );
      procs.push(proc);
      await waitForPort(httpPort, 30_000, () => proc.exitCode === null);
      return `http://127.0.0.1:${httpPort}`;
    };
    // One after the other: the first migrates the shared database.
    const a = await start('hub-a');
    const b = await start('hub-b');
    const added = await runCli(['hub', 'gateway', 'add', '--db-url', dbUrl, '--estate', 'maple', '--gateway', 'gw-1']);
    expect(added.code, added.stderr).toBe(0);
    const creds = JSON.parse(added.stdout) as { username: string; password: string };

    const jpeg = randomBytes(300_000);
    jpeg[0] = 0xff;
    jpeg[1] = 0xd8;
    const sha = sha256Hex(jpeg);
    const event = ulid();
    const basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const put = await fetch(`${a}/api/v1/snapshots/${sha}?event=${event}&device=gate-1&camera=cam-1&takenAt=${Date.now()}`, {
      method: 'PUT',
      headers: { authorization: basic, 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(put.status, await put.clone().text()).toBe(201);

    const bearer = { authorization: `Bearer ${API_TOKEN}` };
    const got = await fetch(`${b}/api/v1/snapshots/${sha}`, { headers: bearer });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toMatch(/^image\/jpeg/);
    expect(Buffer.from(await got.arrayBuffer()).equals(jpeg)).toBe(true);
    const links = (await (await fetch(`${b}/api/v1/events/${event}/snapshots`, { headers: bearer })).json()) as { items: Array<{ sha256: string; estate: string }> };
    expect(links.items).toMatchObject([{ sha256: sha, estate: 'maple' }]);
    // The same upload through node B is the gateway's retry: already there.
    const again = await fetch(`${b}/api/v1/snapshots/${sha}?event=${event}&device=gate-1&camera=cam-1&takenAt=1`, { method: 'PUT', headers: { authorization: basic }, body: jpeg });
    expect(again.status).toBe(200);
    // An image nobody uploaded is absent on both.
    expect((await fetch(`${a}/api/v1/snapshots/${'0'.repeat(64)}`, { headers: bearer })).status).toBe(404);
    for (const node of ['hub-a', 'hub-b']) {
      const files = readdirSync(join(dir, node), { recursive: true }).map(String).filter((f) => f.endsWith('.jpg'));
      expect(files, node).toEqual([]);
    }
  }, 90_000);
});
