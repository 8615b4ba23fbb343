import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isId } from '../protocol/index.js';
import { RbError } from './errors.js';

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** scrypt parameters: N=2^15 takes ~50-100 ms on this class of machine; a slow hash on purpose. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEYLEN = 32;

export interface GatewayCredentials {
  estate: string;
  gateway: string;
  username: string;
  password: string;
}

export interface GatewayIdentity {
  estate: string;
  gateway: string;
}

export interface Registry {
  close(): void;
  /** Provision a gateway (or issue a new secret for an existing one) and return its credentials once. */
  addGateway(estate: string, gateway: string): Promise<GatewayCredentials>;
  /** Check MQTT credentials; `null` when unknown, revoked or wrong. */
  authenticate(username: string, password: string): Promise<GatewayIdentity | null>;
  listGateways(): Array<GatewayIdentity & { username: string; createdAt: number; revokedAt: number | null }>;
}

export function usernameFor(estate: string, gateway: string): string {
  return `${estate}.${gateway}`;
}

async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, KEYLEN, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

async function verifySecret(secret: string, stored: string): Promise<boolean> {
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

/** The hub's registry of gateways, in SQLite (WAL) at `{dataDir}/registry.db`. */
export function openRegistry(dataDir: string): Registry {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'registry.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS gateways (
      estate TEXT NOT NULL,
      gateway TEXT NOT NULL,
      username TEXT NOT NULL UNIQUE,
      secret_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      revoked_at INTEGER,
      PRIMARY KEY (estate, gateway)
    );
  `);
  const upsert = db.prepare(
    `INSERT INTO gateways (estate, gateway, username, secret_hash, created_at, revoked_at)
     VALUES (@estate, @gateway, @username, @hash, @now, NULL)
     ON CONFLICT (estate, gateway) DO UPDATE SET secret_hash = excluded.secret_hash, revoked_at = NULL`,
  );
  const byUsername = db.prepare<[string], { estate: string; gateway: string; secret_hash: string; revoked_at: number | null }>(
    'SELECT estate, gateway, secret_hash, revoked_at FROM gateways WHERE username = ?',
  );
  const all = db.prepare<[], { estate: string; gateway: string; username: string; created_at: number; revoked_at: number | null }>(
    'SELECT estate, gateway, username, created_at, revoked_at FROM gateways ORDER BY estate, gateway',
  );

  return {
    close: () => db.close(),
    async addGateway(estate, gateway) {
      if (!isId(estate)) throw new RbError('RB_ERR_BAD_ID', `estate id ${JSON.stringify(estate)} must match [a-z0-9-]{1,64}`);
      if (!isId(gateway)) throw new RbError('RB_ERR_BAD_ID', `gateway id ${JSON.stringify(gateway)} must match [a-z0-9-]{1,64}`);
      const password = randomBytes(24).toString('base64url');
      const username = usernameFor(estate, gateway);
      upsert.run({ estate, gateway, username, hash: await hashSecret(password), now: Date.now() });
      return { estate, gateway, username, password };
    },
    async authenticate(username, password) {
      if (username.length > 200 || password.length > 200) return null;
      const row = byUsername.get(username);
      if (!row || row.revoked_at !== null) return null;
      return (await verifySecret(password, row.secret_hash)) ? { estate: row.estate, gateway: row.gateway } : null;
    },
    listGateways: () =>
      all.all().map((r) => ({
        estate: r.estate,
        gateway: r.gateway,
        username: r.username,
        createdAt: r.created_at,
        revokedAt: r.revoked_at,
      })),
  };
}
