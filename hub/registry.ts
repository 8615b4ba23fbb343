import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isId, type GatewayStatus } from '../protocol/index.js';
import { RbError } from './errors.js';
import { migrate } from './registry-schema.js';
import { AuthCache, hashSecret, newSecret, verifySecret, type AuthCacheOptions } from './registry-secrets.js';

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

export interface GatewayRecord extends GatewayIdentity {
  username: string;
  createdAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
}

export interface DeviceRecord {
  estate: string;
  gateway: string;
  device: string;
  firstSeen: number;
  lastSeen: number;
  online: boolean;
}

export interface EstateRecord {
  id: string;
  street: string | null;
  grid: string | null;
  name: string | null;
}

export interface GridRecord {
  id: string;
  street: string | null;
  name: string | null;
}

/** A credential change (add, rotate, revoke), from this process or another one sharing the file. */
export interface CredentialChange extends GatewayIdentity {
  seq: number;
  kind: 'add' | 'rotate' | 'revoke';
  at: number;
}

export interface Registry {
  close(): void;
  /** Provision a gateway, or give an existing (even revoked) one a new secret; returns its credentials once. */
  addGateway(estate: string, gateway: string): Promise<GatewayCredentials>;
  /** New secret for an active gateway; the old one stops working at once. */
  rotateGateway(estate: string, gateway: string): Promise<GatewayCredentials>;
  /** Revoke a gateway's secret (idempotent: a second revoke returns the first time). */
  revokeGateway(estate: string, gateway: string): { estate: string; gateway: string; revokedAt: number };
  /** Check MQTT credentials; `null` when unknown, revoked or wrong. */
  authenticate(username: string, password: string): Promise<GatewayIdentity | null>;
  listGateways(): GatewayRecord[];
  addStreet(id: string, name?: string): { id: string; name: string | null };
  /** Every street with its name (the street overview names its street). */
  listStreets(): Array<{ id: string; name: string | null }>;
  /** Add a city-management grid (or update its street / name). */
  addGrid(id: string, opts?: { street?: string; name?: string }): GridRecord;
  listGrids(): GridRecord[];
  /** Add an estate or update its street / grid / name; an estate given only a grid takes the grid's street. */
  addEstate(id: string, opts?: { street?: string; grid?: string; name?: string }): EstateRecord;
  listEstates(): EstateRecord[];
  getEstate(id: string): EstateRecord | undefined;
  /**
   * Estate ids that scope strings cover: `estate:E` covers E (registered or not), `grid:G` every
   * estate whose grid is G, `street:S` every estate whose street is S. Other strings cover nothing.
   */
  estatesInScope(scopes: readonly string[]): string[];
  /** Record the devices a gateway reports in its status (all offline when the gateway goes offline). */
  recordStatus(status: GatewayStatus, receivedAt?: number): void;
  listDevices(filter?: { estate?: string }): DeviceRecord[];
  /**
   * Call `listener` for every credential change: at once for changes made through this object, and
   * within `pollMs` for changes another process (the CLI) wrote to the same file.
   */
  watchChanges(listener: (change: CredentialChange) => void, pollMs?: number): () => void;
}

export function usernameFor(estate: string, gateway: string): string {
  return `${estate}.${gateway}`;
}

function checkId(kind: string, value: string): void {
  if (!isId(value)) throw new RbError('RB_ERR_BAD_ID', `${kind} id ${JSON.stringify(value)} must match [a-z0-9-]{1,64}`);
}

const MAX_CHANGES = 1000;

/** The hub's registry (streets, estates, gateways, devices) in SQLite (WAL) at `{dataDir}/registry.db`. */
export function openRegistry(dataDir: string, opts: { authCache?: AuthCacheOptions } = {}): Registry {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'registry.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  const cache = new AuthCache(opts.authCache);

  type GatewayRow = { estate: string; gateway: string; username: string; secret_hash: string; created_at: number; rotated_at: number | null; revoked_at: number | null };
  const upsertGateway = db.prepare(
    `INSERT INTO gateways (estate, gateway, username, secret_hash, created_at, revoked_at)
     VALUES (@estate, @gateway, @username, @hash, @now, NULL)
     ON CONFLICT (estate, gateway) DO UPDATE SET secret_hash = excluded.secret_hash, revoked_at = NULL, rotated_at = @now`,
  );
  const setSecret = db.prepare('UPDATE gateways SET secret_hash = @hash, rotated_at = @now WHERE estate = @estate AND gateway = @gateway AND revoked_at IS NULL');
  const setRevoked = db.prepare('UPDATE gateways SET revoked_at = @now WHERE estate = @estate AND gateway = @gateway AND revoked_at IS NULL');
  const gatewayRow = db.prepare<[string, string], GatewayRow>('SELECT * FROM gateways WHERE estate = ? AND gateway = ?');
  const byUsername = db.prepare<[string], GatewayRow>('SELECT * FROM gateways WHERE username = ?');
  const allGateways = db.prepare<[], GatewayRow>('SELECT * FROM gateways ORDER BY estate, gateway');
  const ensureEstate = db.prepare('INSERT OR IGNORE INTO estates (id) VALUES (?)');
  const addChange = db.prepare('INSERT INTO credential_changes (estate, gateway, kind, at) VALUES (?, ?, ?, ?)');
  const pruneChanges = db.prepare('DELETE FROM credential_changes WHERE seq <= ?');
  const changesAfter = db.prepare<[number], CredentialChange>('SELECT seq, estate, gateway, kind, at FROM credential_changes WHERE seq > ? ORDER BY seq');
  const lastChange = db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM credential_changes');
  const upsertStreet = db.prepare('INSERT INTO streets (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = COALESCE(excluded.name, name)');
  const streetRow = db.prepare<[string], { id: string; name: string | null }>('SELECT id, name FROM streets WHERE id = ?');
  const allStreets = db.prepare<[], { id: string; name: string | null }>('SELECT id, name FROM streets ORDER BY id');
  const upsertEstate = db.prepare(
    `INSERT INTO estates (id, street, grid, name) VALUES (@id, @street, @grid, @name)
     ON CONFLICT (id) DO UPDATE SET street = COALESCE(excluded.street, street), grid = COALESCE(excluded.grid, grid), name = COALESCE(excluded.name, name)`,
  );
  const estateRow = db.prepare<[string], EstateRecord>('SELECT id, street, grid, name FROM estates WHERE id = ?');
  const allEstates = db.prepare<[], EstateRecord>('SELECT id, street, grid, name FROM estates ORDER BY id');
  const upsertGrid = db.prepare(
    `INSERT INTO grids (id, street, name) VALUES (@id, @street, @name)
     ON CONFLICT (id) DO UPDATE SET street = COALESCE(excluded.street, street), name = COALESCE(excluded.name, name)`,
  );
  const gridRow = db.prepare<[string], GridRecord>('SELECT id, street, name FROM grids WHERE id = ?');
  const allGrids = db.prepare<[], GridRecord>('SELECT id, street, name FROM grids ORDER BY id');
  const estatesOfGrid = db.prepare<[string], { id: string }>('SELECT id FROM estates WHERE grid = ?');
  const estatesOfStreet = db.prepare<[string], { id: string }>('SELECT id FROM estates WHERE street = ?');
  const upsertDevice = db.prepare(
    `INSERT INTO devices (estate, gateway, device, first_seen, last_seen, online) VALUES (@estate, @gateway, @device, @seen, @seen, @online)
     ON CONFLICT (estate, gateway, device) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen), online = excluded.online`,
  );
  const gatewayOffline = db.prepare('UPDATE devices SET online = 0 WHERE estate = ? AND gateway = ?');
  type DeviceRow = { estate: string; gateway: string; device: string; first_seen: number; last_seen: number; online: number };
  const allDevices = db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY estate, gateway, device');
  const estateDevices = db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE estate = ? ORDER BY gateway, device');

  // Credential changes: listeners hear local ones at once; the poller reads the ones other processes wrote.
  const listeners = new Set<(c: CredentialChange) => void>();
  const handledLocally = new Set<number>();
  let lastSeq = 0;
  let poller: NodeJS.Timeout | undefined;
  let closed = false;

  const recordChange = db.transaction((estate: string, gateway: string, kind: CredentialChange['kind'], at: number): number => {
    const seq = Number(addChange.run(estate, gateway, kind, at).lastInsertRowid);
    if (seq > MAX_CHANGES) pruneChanges.run(seq - MAX_CHANGES);
    return seq;
  });

  function changed(estate: string, gateway: string, kind: CredentialChange['kind'], at: number): void {
    cache.forget(usernameFor(estate, gateway));
    const seq = recordChange(estate, gateway, kind, at);
    if (listeners.size > 0) handledLocally.add(seq);
    for (const l of listeners) l({ seq, estate, gateway, kind, at });
  }

  function poll(): void {
    if (closed) return;
    for (const c of changesAfter.all(lastSeq)) {
      lastSeq = Math.max(lastSeq, c.seq);
      if (handledLocally.delete(c.seq)) continue;
      cache.forget(usernameFor(c.estate, c.gateway));
      for (const l of listeners) l(c);
    }
  }

  const toRecord = (r: GatewayRow): GatewayRecord => ({
    estate: r.estate,
    gateway: r.gateway,
    username: r.username,
    createdAt: r.created_at,
    rotatedAt: r.rotated_at,
    revokedAt: r.revoked_at,
  });

  function mustStreet(street: string): void {
    checkId('street', street);
    if (!streetRow.get(street)) throw new RbError('RB_ERR_UNKNOWN_STREET', `no street ${street} in the registry; add it first (hub street add)`);
  }

  function mustGet(estate: string, gateway: string): GatewayRow {
    checkId('estate', estate);
    checkId('gateway', gateway);
    const row = gatewayRow.get(estate, gateway);
    if (!row) throw new RbError('RB_ERR_UNKNOWN_GATEWAY', `no gateway ${estate}/${gateway} in the registry`);
    return row;
  }

  return {
    close() {
      closed = true;
      if (poller) clearInterval(poller);
      listeners.clear();
      db.close();
    },
    async addGateway(estate, gateway) {
      checkId('estate', estate);
      checkId('gateway', gateway);
      const password = newSecret();
      const username = usernameFor(estate, gateway);
      const hash = await hashSecret(password);
      const now = Date.now();
      const existed = gatewayRow.get(estate, gateway) !== undefined;
      db.transaction(() => {
        ensureEstate.run(estate);
        upsertGateway.run({ estate, gateway, username, hash, now });
      })();
      changed(estate, gateway, existed ? 'rotate' : 'add', now);
      return { estate, gateway, username, password };
    },
    async rotateGateway(estate, gateway) {
      if (mustGet(estate, gateway).revoked_at !== null) {
        throw new RbError('RB_ERR_GATEWAY_REVOKED', `gateway ${estate}/${gateway} is revoked; "gateway add" re-activates it with a new secret`);
      }
      const password = newSecret();
      const hash = await hashSecret(password);
      const now = Date.now();
      // Revoked while hashing: stay revoked.
      if (setSecret.run({ estate, gateway, hash, now }).changes === 0) {
        throw new RbError('RB_ERR_GATEWAY_REVOKED', `gateway ${estate}/${gateway} was revoked meanwhile`);
      }
      changed(estate, gateway, 'rotate', now);
      return { estate, gateway, username: usernameFor(estate, gateway), password };
    },
    revokeGateway(estate, gateway) {
      const row = mustGet(estate, gateway);
      if (row.revoked_at !== null) return { estate, gateway, revokedAt: row.revoked_at };
      const now = Date.now();
      setRevoked.run({ estate, gateway, now });
      changed(estate, gateway, 'revoke', now);
      return { estate, gateway, revokedAt: now };
    },
    async authenticate(username, password) {
      if (username.length > 200 || password.length > 200) return null;
      const row = byUsername.get(username);
      if (!row || row.revoked_at !== null) return null;
      const who = { estate: row.estate, gateway: row.gateway };
      if (cache.has(username, password, row.secret_hash)) return who;
      if (!(await verifySecret(password, row.secret_hash))) return null;
      // Re-read: a rotate or revoke may have landed while scrypt ran.
      const now = byUsername.get(username);
      if (!now || now.revoked_at !== null || now.secret_hash !== row.secret_hash) return null;
      cache.remember(username, password, row.secret_hash);
      return who;
    },
    listGateways: () => allGateways.all().map(toRecord),
    addStreet(id, name) {
      checkId('street', id);
      upsertStreet.run(id, name ?? null);
      return streetRow.get(id)!;
    },
    addGrid(id, o = {}) {
      checkId('grid', id);
      if (o.street !== undefined) mustStreet(o.street);
      upsertGrid.run({ id, street: o.street ?? null, name: o.name ?? null });
      return gridRow.get(id)!;
    },
    listGrids: () => allGrids.all(),
    listStreets: () => allStreets.all(),
    addEstate(id, o = {}) {
      checkId('estate', id);
      if (o.street !== undefined) mustStreet(o.street);
      let street = o.street;
      if (o.grid !== undefined) {
        checkId('grid', o.grid);
        const grid = gridRow.get(o.grid);
        if (!grid) throw new RbError('RB_ERR_UNKNOWN_GRID', `no grid ${o.grid} in the registry; add it first (hub grid add)`);
        const estateStreet = street ?? estateRow.get(id)?.street ?? null;
        if (grid.street !== null && estateStreet !== null && grid.street !== estateStreet) {
          throw new RbError('RB_ERR_BAD_BODY', `grid ${o.grid} belongs to street ${grid.street}, not to street ${estateStreet}`);
        }
        street ??= grid.street ?? undefined;
      }
      upsertEstate.run({ id, street: street ?? null, grid: o.grid ?? null, name: o.name ?? null });
      return estateRow.get(id)!;
    },
    listEstates: () => allEstates.all(),
    getEstate: (id) => estateRow.get(id),
    estatesInScope(scopes) {
      const out = new Set<string>();
      for (const scope of scopes) {
        const colon = scope.indexOf(':');
        const kind = scope.slice(0, colon);
        const id = scope.slice(colon + 1);
        if (colon <= 0 || !isId(id)) continue;
        if (kind === 'estate') out.add(id);
        else if (kind === 'grid') for (const r of estatesOfGrid.all(id)) out.add(r.id);
        else if (kind === 'street') for (const r of estatesOfStreet.all(id)) out.add(r.id);
      }
      return [...out].sort();
    },
    recordStatus(status, receivedAt = Date.now()) {
      db.transaction(() => {
        if (status.state === 'offline') gatewayOffline.run(status.estate, status.gateway);
        for (const [device, health] of Object.entries(status.devices ?? {})) {
          const seen = Math.min(health.lastSeen ?? status.ts, receivedAt);
          upsertDevice.run({ estate: status.estate, gateway: status.gateway, device, seen, online: health.online && status.state === 'online' ? 1 : 0 });
        }
      })();
    },
    listDevices(filter = {}) {
      const rows = filter.estate === undefined ? allDevices.all() : estateDevices.all(filter.estate);
      return rows.map((r) => ({ estate: r.estate, gateway: r.gateway, device: r.device, firstSeen: r.first_seen, lastSeen: r.last_seen, online: r.online === 1 }));
    },
    watchChanges(listener, pollMs = 1000) {
      listeners.add(listener);
      if (!poller) {
        // Only what happens from now on: earlier changes were before anyone was connected.
        lastSeq = lastChange.get()?.seq ?? 0;
        handledLocally.clear();
        poller = setInterval(poll, pollMs);
        poller.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && poller) {
          clearInterval(poller);
          poller = undefined;
        }
      };
    },
  };
}
