/**
 * Failed logins per (name, ip): after `maxFailures` within `windowMs` that pair is refused until the
 * oldest failure leaves the window, so a guesser gets a handful of tries per quarter hour while the
 * same user from another address (the volunteer's own phone) still can log in. In memory: a hub
 * restart forgets, which costs an attacker a restart of somebody else's process.
 */
export interface LoginLimiter {
  /** ms until this pair may try again; 0 = go ahead. */
  retryAfter(name: string, ip: string): number;
  failed(name: string, ip: string): void;
  succeeded(name: string, ip: string): void;
}

export function createLoginLimiter(opts: { maxFailures?: number; windowMs?: number; maxKeys?: number; now?: () => number } = {}): LoginLimiter {
  const maxFailures = opts.maxFailures ?? 5;
  const windowMs = opts.windowMs ?? 15 * 60_000;
  const maxKeys = opts.maxKeys ?? 10_000;
  const now = opts.now ?? (() => Date.now());
  const failures = new Map<string, number[]>();
  const key = (name: string, ip: string): string => `${name}\u0000${ip}`;
  const recent = (k: string): number[] => {
    const t = now();
    const list = (failures.get(k) ?? []).filter((at) => at > t - windowMs);
    if (list.length === 0) failures.delete(k);
    else failures.set(k, list);
    return list;
  };
  return {
    retryAfter(name, ip) {
      const list = recent(key(name, ip));
      return list.length >= maxFailures ? list[list.length - maxFailures]! + windowMs - now() : 0;
    },
    failed(name, ip) {
      const k = key(name, ip);
      const list = recent(k);
      if (!failures.has(k) && failures.size >= maxKeys) {
        const oldest = failures.keys().next();
        if (!oldest.done) failures.delete(oldest.value);
      }
      list.push(now());
      failures.set(k, list.slice(-maxFailures));
    },
    succeeded(name, ip) {
      failures.delete(key(name, ip));
    },
  };
}
