import type { Channel } from './channel.js';

const MINUTE = 60_000;

/**
 * Per channel instance: at most `perMinute` sends in any 60 s window (the providers' own rule, e.g.
 * a WeCom or DingTalk group robot takes 20 messages a minute and refuses the 21st). A sliding window
 * of send times rather than a token bucket: a bucket of 20 refilled at 20/min lets 40 through in the
 * first minute after a quiet spell, which such a robot refuses.
 */
export function createRateLimits() {
  const windows = new Map<string, number[]>();
  const windowOf = (c: Channel, at: number): number[] => {
    let w = windows.get(c.id);
    if (!w) windows.set(c.id, (w = []));
    while (w.length > 0 && w[0]! <= at - MINUTE) w.shift();
    return w;
  };
  return {
    /** How long until `c` may send again (0: now). */
    wait(c: Channel, at: number): number {
      const w = windowOf(c, at);
      const limit = Math.max(1, Math.floor(c.perMinute));
      return w.length < limit ? 0 : w[w.length - limit]! + MINUTE - at;
    },
    take(c: Channel, at: number): void {
      windowOf(c, at).push(at);
    },
  };
}
