import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioClient, type Socket } from 'socket.io-client';
import { topics } from '../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * Knobs that were hard-coded before the nested hub config (push replay limit, login limits) reach
 * the code that uses them: a real hub started with small values behaves by them.
 */
const ESTATE = 'estate-a';
let t: TestHub;
const sockets: Socket[] = [];

beforeAll(async () => {
  t = await startTestHub({ config: { push: { replayLimit: 3 }, auth: { loginMaxFailures: 2, loginWindow: '1h' } } });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await t?.stop();
});

interface Envelope {
  scope: string;
  seq: number;
  event: string;
}

/** Connect a screen that last saw `since` of the estate's scope; collect what it is sent for a moment. */
async function reconnect(since: number): Promise<{ replayed: Envelope[]; resync: Envelope[] }> {
  const replayed: Envelope[] = [];
  const resync: Envelope[] = [];
  const socket = ioClient(t.httpUrl, { auth: { estates: [ESTATE], token: t.apiToken, since: { [`estate:${ESTATE}`]: since } }, transports: ['websocket'] });
  sockets.push(socket);
  socket.onAny((event: string, m: Envelope) => (event === 'resync' ? resync : replayed).push({ scope: m.scope, seq: m.seq, event }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  // the replay is sent in the connection's own tick; a round trip after it has surely arrived
  await t.api('GET', '/healthz');
  await new Promise((r) => setTimeout(r, 200));
  socket.close();
  return { replayed, resync };
}

describe('hub config reaches its consumers', () => {
  it('push.replayLimit: a screen that missed more is told to resync; one that missed fewer gets the replay', async () => {
    const creds = await t.provision(ESTATE, 'gw-1');
    const gw = await t.connect(creds);
    const events = Array.from({ length: 6 }, (_, i) => makeEvent({ estate: ESTATE, gateway: 'gw-1', device: `gate-${i}`, type: 'door.opened', data: { door: 1 } }));
    for (const ev of events) expect(await publishOutcome(gw, topics.event(ESTATE, 'gw-1', ev.device), JSON.stringify(ev))).toBe('acked');
    expect(await waitFor(async () => (await t.events({ estate: ESTATE })).length === events.length)).toBe(true);

    const all = await reconnect(0);
    expect(all.replayed).toEqual([]);
    expect(all.resync).toHaveLength(1);
    const last = all.resync[0]!.seq;
    expect(last).toBeGreaterThanOrEqual(6); // at least one message per event: more than the limit of 3

    const few = await reconnect(last - 3);
    expect(few.resync).toEqual([]);
    expect(few.replayed.map((m) => m.seq)).toEqual([last - 2, last - 1, last]);
  });

  it('auth.loginMaxFailures: the third try after two wrong passwords is refused, even with the right one', async () => {
    await t.addUser({ name: 'vol', role: 'volunteer', scopes: [`estate:${ESTATE}`], password: 'vol-password' });
    const login = (password: string) => t.api('POST', '/api/v1/auth/login', { token: null, body: { name: 'vol', password } });
    expect((await login('wrong-password')).status).toBe(401);
    expect((await login('wrong-password')).status).toBe(401);
    expect(await login('vol-password')).toMatchObject({ status: 429, json: { error: { code: 'RB_ERR_RATE_LIMITED' } } });
  });
});
