import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../hub/blobs.js';
import { openClipStore } from '../../../hub/clips/store.js';
import type { GatewayCredentials } from '../../../hub/registry.js';
import { topics } from '../../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, waitFor, type TestHub } from '../../support/hub.js';

/**
 * Alarm clips at the hub (docs/video.md, "Alarm clips"): a gateway's upload is checked (its login, an
 * MP4, its sha256, the size cap), linked to the alert of its event, served only in scope (404
 * outside it, like a clip that does not exist), every view audited, and deleted after the retention.
 */
const ESTATE = 'maple-court';
const OTHER = 'birch-yard';
const MAX = 1024 * 1024;

/** A real one-second H.264 MP4 (Debian ffmpeg, the test pattern). */
const mp4 = (): Buffer =>
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', 'frag_keyframe+empty_moov', '-f', 'mp4', 'pipe:1'], { maxBuffer: 8 * 1024 * 1024 });

describe('alarm clips at the hub', () => {
  let t: TestHub;
  let creds: GatewayCredentials;
  let gw: MqttClient;
  let vol: { id: string; token: string };
  let stranger: string;
  let alertId = '';
  let eventId = '';
  const clip = mp4();
  const sha = sha256Hex(clip);

  const put = (body: Buffer, opts: { sha?: string; auth?: string; query?: Record<string, string> } = {}) => {
    const q = new URLSearchParams({ event: eventId, device: 'gate-1', camera: 'cam-1', startedAt: '1000', endedAt: '31000', ...opts.query });
    return fetch(`${t.httpUrl}/api/v1/clips/${opts.sha ?? sha256Hex(body)}?${q}`, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'video/mp4', authorization: `Basic ${Buffer.from(opts.auth ?? `${creds.username}:${creds.password}`).toString('base64')}` },
    });
  };
  const get = (path: string, token: string) => fetch(`${t.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    t = await startTestHub({ config: { video: { clips: { retention: '1m', maxBytes: MAX } } } as never });
    creds = await t.provision(ESTATE, 'gw-1');
    await t.provision(OTHER, 'gw-9');
    vol = await t.addUser({ name: 'vol', role: 'volunteer', scopes: [`estate:${ESTATE}`] });
    stranger = (await t.addUser({ name: 'other', role: 'volunteer', scopes: [`estate:${OTHER}`] })).token;
    gw = await t.connect(creds);
    const forced = makeEvent({ estate: ESTATE, gateway: 'gw-1', device: 'gate-1', type: 'door.forced', data: { door: 1 } });
    eventId = forced.id;
    expect(await publishOutcome(gw, topics.event(ESTATE, 'gw-1', 'gate-1'), JSON.stringify(forced))).toBe('acked');
    await waitFor(async () => {
      const items = ((await t.api('GET', `/api/v1/alerts?estate=${ESTATE}`)).json.items ?? []) as Array<{ id: string; rule: string }>;
      alertId = items.find((a) => a.rule === 'door.forced')?.id ?? '';
      return alertId !== '';
    }, 10_000);
  }, 30_000);

  afterAll(async () => {
    gw?.end(true);
    await t?.stop();
  });

  it('refuses a wrong login, a body that is no MP4 or not its sha256, and one over video.clips.maxBytes', async () => {
    expect(clip.toString('latin1', 4, 8)).toBe('ftyp');
    expect((await put(clip, { auth: `${creds.username}:wrong` })).status).toBe(401);
    const notMp4 = Buffer.alloc(64, 0x41);
    const bad = await put(notMp4);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('RB_ERR_BAD_CLIP');
    expect((await put(clip, { sha: sha256Hex(notMp4) })).status).toBe(400);
    expect((await put(clip, { query: { startedAt: 'soon' } })).status).toBe(400);
    const big = Buffer.concat([clip, Buffer.alloc(MAX)]);
    expect((await put(big)).status).toBe(413);
  });

  it('links a clip to the alert of its event once; the estate reads it, every view audited', async () => {
    expect((await put(clip)).status).toBe(201);
    expect((await put(clip)).status).toBe(200); // the gateway's retry after a lost answer
    const list = await get(`/api/v1/alerts/${alertId}/clips`, vol.token);
    expect(list.status).toBe(200);
    const { items } = (await list.json()) as { items: Array<Record<string, unknown>> };
    expect(items).toMatchObject([{ eventId, camera: 'cam-1', device: 'gate-1', estate: ESTATE, gateway: 'gw-1', sha256: sha, url: `/api/v1/clips/${sha}`, durationMs: 30_000, size: clip.length }]);
    const res = await get(`/api/v1/clips/${sha}`, vol.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await res.arrayBuffer()).equals(clip)).toBe(true);
    await waitFor(async () => {
      const audit = (await t.api('GET', `/api/v1/audit?action=video.clip`)).json.items as Array<Record<string, unknown>> | undefined;
      return (audit ?? []).some((a) => a.actor === `user:${vol.id}` && a.target === 'device:cam-1');
    }, 5_000);
    const audit = (await t.api('GET', `/api/v1/audit?action=video.clip`)).json.items as Array<Record<string, unknown>>;
    expect(audit.find((a) => a.actor === `user:${vol.id}`)).toMatchObject({ action: 'video.clip', estate: ESTATE, target: 'device:cam-1', detail: { event: eventId, sha256: sha, durationMs: 30_000 } });
  });

  it('a volunteer of another estate gets 404 for the clip and for the alert\'s clips', async () => {
    const clipRes = await get(`/api/v1/clips/${sha}`, stranger);
    expect(clipRes.status).toBe(404);
    expect(await clipRes.text()).toContain('RB_ERR_NOT_FOUND');
    expect((await get(`/api/v1/alerts/${alertId}/clips`, stranger)).status).toBe(404);
    expect((await get(`/api/v1/clips/${'0'.repeat(64)}`, vol.token)).status).toBe(404);
  });

  it('clips past video.clips.retention are deleted, bytes and link', async () => {
    const file = join(t.dataDir, 'clips', sha.slice(0, 2), `${sha}.mp4`);
    expect(existsSync(file)).toBe(true);
    const db = await t.openDatabase();
    try {
      const store = openClipStore({ db, dataDir: t.dataDir });
      expect(await store.prune(Date.now() - 60_000)).toBe(0); // younger than the retention: kept
      expect(await store.prune(Date.now() + 1)).toBe(1);
    } finally {
      await db.close();
    }
    expect(existsSync(file)).toBe(false);
    expect((await get(`/api/v1/clips/${sha}`, vol.token)).status).toBe(404);
    const { items } = (await (await get(`/api/v1/alerts/${alertId}/clips`, vol.token)).json()) as { items: unknown[] };
    expect(items).toEqual([]);
  });
});
