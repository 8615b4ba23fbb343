import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * The replay sequence has no jumps (issue 16): the hub sends a message only once its push-log row is
 * committed, so after a restart the sequence of a scope continues from the committed maximum, and a
 * screen that reconnects with its `since` is replayed every envelope it missed, contiguous.
 */
const ESTATE = 'estate-r';

async function replayFrom(t: TestHub, since: number, want: number): Promise<number[]> {
  const socket = ioClient(t.httpUrl, { transports: ['websocket'], auth: { token: t.apiToken, estates: [ESTATE], since: { [`estate:${ESTATE}`]: since } } });
  const seqs: number[] = [];
  socket.onAny((_event: string, env: { scope?: string; seq: number } | undefined) => {
    if (env?.scope === `estate:${ESTATE}`) seqs.push(env.seq);
  });
  try {
    // A replay short of `want` fails here rather than passing on whatever arrived in time.
    expect(await waitFor(() => seqs.length >= want, 10_000), `replay from ${since}: ${JSON.stringify(seqs)}`).toBe(true);
    return seqs;
  } finally {
    socket.close();
  }
}

describe('push replay across a hub restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-push-restart-'));
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const h of hubs.reverse()) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('continues the sequence from the committed maximum: a reconnecting screen replays every envelope, contiguous', async () => {
    const first = await startTestHub({ dataDir: dir });
    hubs.push(first);
    first.hub.registry.addEstate(ESTATE);
    const creds = await first.provision(ESTATE, 'gw-1');
    const gw = await first.connect(creds);
    for (let i = 0; i < 10; i++) {
      expect(await publishOutcome(gw, topics.event(ESTATE, 'gw-1', 'gate-1'), JSON.stringify(makeEvent({ estate: ESTATE, type: 'door.opened', data: { door: 1 } })))).toBe('acked');
    }
    const before = await replayFrom(first, 0, 10);
    const last = Math.max(...before);
    expect(before).toEqual(Array.from({ length: last }, (_, i) => i + 1));

    const ports = { httpPort: Number(new URL(first.httpUrl).port), mqttPort: first.mqttPort };
    await first.hub.stop();
    const second = await startTestHub({ dataDir: dir, ...ports });
    hubs.push(second);
    const gw2 = await second.connect(creds);
    for (let i = 0; i < 5; i++) {
      expect(await publishOutcome(gw2, topics.event(ESTATE, 'gw-1', 'gate-1'), JSON.stringify(makeEvent({ estate: ESTATE, type: 'door.opened', data: { door: 1 } })))).toBe('acked');
    }
    // The screen held `last`; everything after it comes back in order, starting at last + 1 (no jump of 1,024).
    const after = await replayFrom(second, last, 5);
    expect(after[0]).toBe(last + 1);
    expect(after).toEqual(Array.from({ length: after.length }, (_, i) => last + 1 + i));
    // And from the start: one contiguous sequence across the restart.
    const all = await replayFrom(second, 0, last + 5);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
  }, 60_000);
});
