import { describe, expect, it } from 'vitest';
import { postUntilAccepted, worthRepost } from '../../../devices/sim/repost.js';

const answers = (...xs: Array<number | Error>) => {
  const calls: number[] = [];
  const post = async () => {
    const x = xs[Math.min(calls.length, xs.length - 1)]!;
    calls.push(calls.length);
    if (x instanceof Error) throw x;
    return { status: x, body: '' };
  };
  return { post, calls };
};
const ok = (a: { status: number }) => a.status === 200;

describe('re-posting until the gateway takes the event', () => {
  it('re-posts after no answer and after "not now" answers, until a 200', async () => {
    const a = answers(new Error('ECONNREFUSED'), 503, 429, 408, 200);
    let reposts = 0;
    const r = await postUntilAccepted(a.post, ok, { giveUpAfterMs: 5_000, minDelayMs: 1, onRepost: () => void reposts++ });
    expect(r.status).toBe(200);
    expect(a.calls).toHaveLength(5);
    expect(reposts).toBe(4);
  });

  it('a final refusal (400, 403, 404) is not re-posted', async () => {
    for (const status of [400, 403, 404]) {
      expect(worthRepost({ status, body: '' })).toBe(false);
      const a = answers(status);
      expect((await postUntilAccepted(a.post, ok, { giveUpAfterMs: 5_000, minDelayMs: 1 })).status).toBe(status);
      expect(a.calls).toHaveLength(1);
    }
  });

  it('gives up after giveUpAfterMs, or when the run is stopped, with the last answer or error', async () => {
    const down = answers(new Error('ECONNREFUSED'));
    await expect(postUntilAccepted(down.post, ok, { giveUpAfterMs: 50, minDelayMs: 10 })).rejects.toThrow('ECONNREFUSED');
    const stop = new AbortController();
    const busy = answers(503);
    const pending = postUntilAccepted(busy.post, ok, { giveUpAfterMs: 60_000, minDelayMs: 20, signal: stop.signal });
    setTimeout(() => stop.abort(), 30);
    expect((await pending).status).toBe(503);
    expect(busy.calls.length).toBeLessThanOrEqual(3);
  });
});
