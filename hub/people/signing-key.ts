import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HubDatabase } from '../platform/db/index.js';

const KEY_BYTES = 32;
const NAME = 'jwt';

export interface SigningKeyOptions {
  /**
   * A data dir written before the key moved into the database: its `jwt.key` becomes the key (so
   * every token issued before stays valid) and is renamed `jwt.key.migrated`.
   */
  legacyDir?: string | undefined;
  log?: Pick<Logger, 'info'>;
}

/**
 * The HS256 key of tokens and signed links, in the hub database (`hub_keys`), so every hub process
 * and the CLI (`hub user add` prints a token) share it, on one box or several. Made on first use:
 * the INSERT of a new random key does nothing when another process inserted one first, and both
 * read back the one that won.
 */
export async function loadSigningKey(hubDb: HubDatabase, opts: SigningKeyOptions = {}): Promise<Uint8Array> {
  const { db } = hubDb;
  const read = async (): Promise<Uint8Array | undefined> => {
    const row = await db.selectFrom('hub_keys').select('value').where('name', '=', NAME).executeTakeFirst();
    if (!row) return undefined;
    const key = Buffer.from(row.value, 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`the token signing key (hub_keys, name "${NAME}") must hold ${KEY_BYTES} bytes; it holds ${key.length} (delete the row to make a new one; every token becomes invalid)`);
    return new Uint8Array(key);
  };
  const have = await read();
  if (have) return have;
  const legacy = opts.legacyDir ? join(opts.legacyDir, 'jwt.key') : undefined;
  let fresh: Buffer = randomBytes(KEY_BYTES);
  let imported = false;
  if (legacy && existsSync(legacy)) {
    const old = readFileSync(legacy);
    if (old.length !== KEY_BYTES) throw new Error(`${legacy} must hold ${KEY_BYTES} bytes; it holds ${old.length} (delete it to make a new key; every token becomes invalid)`);
    fresh = old;
    imported = true;
  }
  await db
    .insertInto('hub_keys')
    .values({ name: NAME, value: fresh.toString('base64'), created_at: Date.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const key = await read();
  if (!key) throw new Error('the token signing key could not be stored');
  if (imported && legacy && Buffer.from(key).equals(fresh)) {
    renameSync(legacy, `${legacy}.migrated`);
    opts.log?.info({ from: legacy }, 'token signing key moved into the hub database; tokens issued before stay valid');
  }
  return key;
}
