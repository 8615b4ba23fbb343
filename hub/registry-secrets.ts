import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** scrypt parameters: N=2^15 takes ~50-100 ms on this class of machine; a slow hash on purpose. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEYLEN = 32;

export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, KEYLEN, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(secret, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export interface AuthCacheOptions {
  /** How long a successful check is remembered (default 10 min). */
  ttlMs?: number;
  /** Most usernames remembered (default 10,000); the oldest entry goes first. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Remembers successful password checks so reconnecting gateways (a network blip, snapshot uploads
 * with HTTP Basic on every request) do not each cost a scrypt run. It keeps, per username, an HMAC of
 * the password under a key that lives only in this process, and the stored hash it was checked
 * against: when the stored hash changes (rotate, in this process or another) the entry no longer
 * matches. Rotate and revoke also drop the entry explicitly. Failures are never cached.
 */
export class AuthCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { digest: Buffer; storedHash: string; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(opts: AuthCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  private digest(password: string): Buffer {
    return createHmac('sha256', this.key).update(password).digest();
  }

  /** True when this exact password was verified against this exact stored hash within the TTL. */
  has(username: string, password: string, storedHash: string): boolean {
    const entry = this.entries.get(username);
    if (entry && entry.expiresAt > this.now() && entry.storedHash === storedHash && timingSafeEqual(entry.digest, this.digest(password))) {
      this.hits++;
      return true;
    }
    if (entry && entry.expiresAt <= this.now()) this.entries.delete(username);
    this.misses++;
    return false;
  }

  remember(username: string, password: string, storedHash: string): void {
    this.entries.delete(username);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(username, { digest: this.digest(password), storedHash, expiresAt: this.now() + this.ttlMs });
  }

  forget(username: string): void {
    this.entries.delete(username);
  }

  get size(): number {
    return this.entries.size;
  }
}
