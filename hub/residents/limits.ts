/**
 * Sliding-window rate limits for the public resident pages (per IP address, per browser cookie): at
 * most `limit` hits per key in the last `windowMs`. A refused hit is not recorded, so a flood does
 * not push the window further out; the answer says when the oldest counted hit leaves the window.
 */
export interface RateLimiter {
  hit(key: string): { ok: true } | { ok: false; retryAfterS: number };
}

export function createRateLimiter(opts: { limit: number; windowMs: number; now?: () => number; maxKeys?: number }): RateLimiter {
  const { limit, windowMs } = opts;
  const now = opts.now ?? (() => Date.now());
  const maxKeys = opts.maxKeys ?? 20_000;
  const hits = new Map<string, number[]>();

  function prune(at: number): void {
    for (const [k, list] of hits) if (list[list.length - 1]! <= at - windowMs) hits.delete(k);
    // Still full (a spread flood): forget the keys seen first.
    for (const k of hits.keys()) {
      if (hits.size < maxKeys) break;
      hits.delete(k);
    }
  }

  return {
    hit(key) {
      const at = now();
      let list = hits.get(key);
      if (list) {
        while (list.length > 0 && list[0]! <= at - windowMs) list.shift();
      } else {
        if (hits.size >= maxKeys) prune(at);
        list = [];
        hits.set(key, list);
      }
      if (list.length >= limit) return { ok: false, retryAfterS: Math.max(1, Math.ceil((list[0]! + windowMs - at) / 1000)) };
      list.push(at);
      return { ok: true };
    },
  };
}
