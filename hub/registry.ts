import type { Kysely, Transaction } from 'kysely';
import { isId } from '../protocol/index.js';
import { RbError } from './errors.js';
import type { HubDatabase, Schema } from './platform/db/index.js';
import { createRegistryChanges } from './registry-changes.js';
import { AuthCache, hashSecret, newSecret, verifySecret } from './registry-secrets.js';

export type { CredentialChange, DeviceRecord, EstateRecord, GatewayCredentials, GatewayIdentity, GatewayRecord, GridRecord, Registry, RegistryDeps, StreetRecord } from './registry-types.js';
import type { CredentialChange, DeviceRecord, EstateRecord, GatewayRecord, GridRecord, Registry, RegistryDeps, StreetRecord } from './registry-types.js';

export function usernameFor(estate: string, gateway: string): string {
  return `${estate}.${gateway}`;
}

function checkId(kind: string, value: string): void {
  if (!isId(value)) throw new RbError('RB_ERR_BAD_ID', `${kind} id ${JSON.stringify(value)} must match [a-z0-9-]{1,64}`);
}

/** Ids are [a-z0-9-]: code-unit order, the same on both engines (PostgreSQL's collation would differ from SQLite's). */
const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Snapshot {
  streets: StreetRecord[];
  grids: GridRecord[];
  estates: EstateRecord[];
  estateById: Map<string, EstateRecord>;
  gateways: GatewayRecord[];
}
const EMPTY: Snapshot = { streets: [], grids: [], estates: [], estateById: new Map(), gateways: [] };

/**
 * The registry on the hub database (tables of hub/platform/db/schema-registry.ts), the same on
 * SQLite and PostgreSQL (test/hub/platform/registry.contract.ts).
 *
 * Why an in-memory copy: estates, grids and streets are read synchronously on hot paths (every
 * REST request's scope check, the roster, alert names, the broker's ACL), and those callers are
 * synchronous today. The registry is small (hundreds of estates, thousands of devices) and changes
 * rarely, so `start()` loads it and every write reloads it after its commit (writes resolve only
 * then, so a write followed by a read sees itself). Another process (the admin CLI, later another
 * hub node) cannot call us: each write also appends a row to `registry_changes`, and the hub polls
 * `WHERE id > cursor` (an indexed primary-key range; both engines) every `pollMs`, reloads when it
 * finds a change it did not make, and tells `watchChanges` listeners about credential changes (a
 * revoke from the CLI kicks the gateway within a poll). Devices are written only by the hub that
 * receives the gateway's status, so their copy is updated in memory at once and written behind.
 * Authentication always reads the database: a secret revoked by the CLI is refused at once.
 */
export function createRegistry(deps: RegistryDeps): Registry {
  const { db: hubDb, log } = deps;
  const db = hubDb.db;
  const now = deps.now ?? Date.now;
  const authCache = new AuthCache(deps.authCache);

  let snap: Snapshot = EMPTY;
  const devices = new Map<string, DeviceRecord>();
  let started = false;
  let closed = false;

  // ---- the in-memory copy -------------------------------------------------------------------------
  async function load(): Promise<void> {
    const streets = await db.selectFrom('streets').select(['id', 'name']).execute();
    const grids = await db.selectFrom('grids').select(['id', 'street', 'name']).execute();
    const estates = await db.selectFrom('estates').select(['id', 'street', 'grid', 'name']).execute();
    const gateways = await db.selectFrom('gateways').select(['estate', 'gateway', 'username', 'created_at', 'rotated_at', 'revoked_at']).execute();
    estates.sort(byId);
    snap = {
      streets: streets.sort(byId),
      grids: grids.sort(byId),
      estates,
      estateById: new Map(estates.map((e) => [e.id, e])),
      gateways: gateways
        .map((r) => ({ estate: r.estate, gateway: r.gateway, username: r.username, createdAt: r.created_at, rotatedAt: r.rotated_at, revokedAt: r.revoked_at }))
        .sort((a, b) => byKey(a.estate, b.estate) || byKey(a.gateway, b.gateway)),
    };
  }

  // One load at a time, in order; a caller gets a load that began after its call (callers that come
  // while one is waiting share it).
  let running: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  function refresh(): Promise<void> {
    if (queued) return queued;
    const next = running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return load();
      });
    queued = next;
    running = next;
    return next;
  }

  // ---- the change log (hub/registry-changes.ts) ---------------------------------------------------
  type Trx = Transaction<Schema>;
  const changes = createRegistryChanges({
    db: hubDb,
    log,
    now,
    pollMs: deps.pollMs,
    reload: refresh,
    onCredential: (c) => authCache.forget(usernameFor(c.estate, c.gateway)),
    isClosed: () => closed,
  });
  const tell = (change: CredentialChange): void => changes.tell(change);
  const write = changes.write;

  // ---- devices: in memory at once, written behind in order -----------------------------------------
  let deviceWrites: Promise<void> = Promise.resolve();
  const deviceKey = (estate: string, gateway: string, device: string): string => `${estate}\u0000${gateway}\u0000${device}`;

  // ---- helpers -----------------------------------------------------------------------------------
  function mustBeStarted(): void {
    if (!started) throw new Error('registry read before start()');
  }

  async function mustStreet(trx: Trx, street: string): Promise<void> {
    checkId('street', street);
    const row = await trx.selectFrom('streets').select('id').where('id', '=', street).executeTakeFirst();
    if (!row) throw new RbError('RB_ERR_UNKNOWN_STREET', `no street ${street} in the registry; add it first (hub street add)`);
  }

  function gatewayRow(q: Kysely<Schema>, estate: string, gateway: string) {
    return q.selectFrom('gateways').selectAll().where('estate', '=', estate).where('gateway', '=', gateway).executeTakeFirst();
  }

  function mustIds(estate: string, gateway: string): void {
    checkId('estate', estate);
    checkId('gateway', gateway);
  }

  const unknownGateway = (estate: string, gateway: string) => new RbError('RB_ERR_UNKNOWN_GATEWAY', `no gateway ${estate}/${gateway} in the registry`);

  return {
    async start() {
      if (started) return;
      // The cursor first, then the tables: a change committed in between is read again by the poll.
      await changes.readCursor();
      await refresh();
      devices.clear();
      for (const r of await db.selectFrom('devices').selectAll().execute()) {
        devices.set(deviceKey(r.estate, r.gateway, r.device), { estate: r.estate, gateway: r.gateway, device: r.device, firstSeen: r.first_seen, lastSeen: r.last_seen, online: r.online === 1 });
      }
      started = true;
      if (!closed) changes.start();
    },
    async close() {
      closed = true;
      await changes.stop();
      await deviceWrites;
      await running.catch(() => undefined);
    },
    async addGateway(estate, gateway) {
      mustIds(estate, gateway);
      const password = newSecret();
      const username = usernameFor(estate, gateway);
      const hash = await hashSecret(password);
      const at = now();
      const change = await write(async (trx, change) => {
        const existed = (await gatewayRow(trx, estate, gateway)) !== undefined;
        await trx.insertInto('estates').values({ id: estate, street: null, grid: null, name: null }).onConflict((oc) => oc.column('id').doNothing()).execute();
        await trx
          .insertInto('gateways')
          .values({ estate, gateway, username, secret_hash: hash, created_at: at, rotated_at: null, revoked_at: null })
          .onConflict((oc) => oc.columns(['estate', 'gateway']).doUpdateSet((eb) => ({ secret_hash: eb.ref('excluded.secret_hash'), revoked_at: null, rotated_at: at })))
          .execute();
        const kind = existed ? ('rotate' as const) : ('add' as const);
        return { seq: await change(kind, at, { estate, gateway }), kind, estate, gateway, at };
      });
      tell(change);
      return { estate, gateway, username, password };
    },
    async rotateGateway(estate, gateway) {
      mustIds(estate, gateway);
      const row = await gatewayRow(db, estate, gateway);
      if (!row) throw unknownGateway(estate, gateway);
      if (row.revoked_at !== null) {
        throw new RbError('RB_ERR_GATEWAY_REVOKED', `gateway ${estate}/${gateway} is revoked; "gateway add" re-activates it with a new secret`);
      }
      const password = newSecret();
      const hash = await hashSecret(password);
      const at = now();
      const seq = await write(async (trx, change) => {
        const res = await trx
          .updateTable('gateways')
          .set({ secret_hash: hash, rotated_at: at })
          .where('estate', '=', estate)
          .where('gateway', '=', gateway)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        // Revoked while hashing: stay revoked.
        if (Number(res.numUpdatedRows) === 0) throw new RbError('RB_ERR_GATEWAY_REVOKED', `gateway ${estate}/${gateway} was revoked meanwhile`);
        return change('rotate', at, { estate, gateway });
      });
      tell({ seq, kind: 'rotate', estate, gateway, at });
      return { estate, gateway, username: usernameFor(estate, gateway), password };
    },
    async revokeGateway(estate, gateway) {
      mustIds(estate, gateway);
      const at = now();
      const out = await write(async (trx, change) => {
        const row = await gatewayRow(trx, estate, gateway);
        if (!row) throw unknownGateway(estate, gateway);
        if (row.revoked_at !== null) return { revokedAt: row.revoked_at, seq: undefined };
        await trx.updateTable('gateways').set({ revoked_at: at }).where('estate', '=', estate).where('gateway', '=', gateway).execute();
        return { revokedAt: at, seq: await change('revoke', at, { estate, gateway }) };
      });
      if (out.seq !== undefined) tell({ seq: out.seq, kind: 'revoke', estate, gateway, at });
      return { estate, gateway, revokedAt: out.revokedAt };
    },
    async authenticate(username, password) {
      if (username.length > 200 || password.length > 200) return null;
      const read = () => db.selectFrom('gateways').select(['estate', 'gateway', 'secret_hash', 'revoked_at']).where('username', '=', username).executeTakeFirst();
      const row = await read();
      if (!row || row.revoked_at !== null) return null;
      const who = { estate: row.estate, gateway: row.gateway };
      if (authCache.has(username, password, row.secret_hash)) return who;
      if (!(await verifySecret(password, row.secret_hash))) return null;
      // Re-read: a rotate or revoke may have landed while scrypt ran.
      const again = await read();
      if (!again || again.revoked_at !== null || again.secret_hash !== row.secret_hash) return null;
      authCache.remember(username, password, row.secret_hash);
      return who;
    },
    listGateways() {
      mustBeStarted();
      return snap.gateways.map((g) => ({ ...g }));
    },
    async addStreet(id, name) {
      checkId('street', id);
      await write(async (trx, change) => {
        await trx
          .insertInto('streets')
          .values({ id, name: name ?? null })
          .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ name: eb.fn.coalesce(eb.ref('excluded.name'), eb.ref('streets.name')) })))
          .execute();
        await change('street', now(), { target: id });
      });
      return { ...snap.streets.find((s) => s.id === id)! };
    },
    async addGrid(id, o = {}) {
      checkId('grid', id);
      await write(async (trx, change) => {
        if (o.street !== undefined) await mustStreet(trx, o.street);
        await trx
          .insertInto('grids')
          .values({ id, street: o.street ?? null, name: o.name ?? null })
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              street: eb.fn.coalesce(eb.ref('excluded.street'), eb.ref('grids.street')),
              name: eb.fn.coalesce(eb.ref('excluded.name'), eb.ref('grids.name')),
            })),
          )
          .execute();
        await change('grid', now(), { target: id });
      });
      return { ...snap.grids.find((g) => g.id === id)! };
    },
    listGrids() {
      mustBeStarted();
      return snap.grids.map((g) => ({ ...g }));
    },
    listStreets() {
      mustBeStarted();
      return snap.streets.map((s) => ({ ...s }));
    },
    async addEstate(id, o = {}) {
      checkId('estate', id);
      await write(async (trx, change) => {
        if (o.street !== undefined) await mustStreet(trx, o.street);
        let street = o.street;
        if (o.grid !== undefined) {
          checkId('grid', o.grid);
          const grid = await trx.selectFrom('grids').select(['id', 'street']).where('id', '=', o.grid).executeTakeFirst();
          if (!grid) throw new RbError('RB_ERR_UNKNOWN_GRID', `no grid ${o.grid} in the registry; add it first (hub grid add)`);
          const current = await trx.selectFrom('estates').select('street').where('id', '=', id).executeTakeFirst();
          const estateStreet = street ?? current?.street ?? null;
          if (grid.street !== null && estateStreet !== null && grid.street !== estateStreet) {
            throw new RbError('RB_ERR_BAD_BODY', `grid ${o.grid} belongs to street ${grid.street}, not to street ${estateStreet}`);
          }
          street ??= grid.street ?? undefined;
        }
        await trx
          .insertInto('estates')
          .values({ id, street: street ?? null, grid: o.grid ?? null, name: o.name ?? null })
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              street: eb.fn.coalesce(eb.ref('excluded.street'), eb.ref('estates.street')),
              grid: eb.fn.coalesce(eb.ref('excluded.grid'), eb.ref('estates.grid')),
              name: eb.fn.coalesce(eb.ref('excluded.name'), eb.ref('estates.name')),
            })),
          )
          .execute();
        await change('estate', now(), { estate: id });
      });
      return { ...snap.estateById.get(id)! };
    },
    listEstates() {
      mustBeStarted();
      return snap.estates.map((e) => ({ ...e }));
    },
    getEstate(id) {
      mustBeStarted();
      const e = snap.estateById.get(id);
      return e ? { ...e } : undefined;
    },
    estatesInScope(scopes) {
      mustBeStarted();
      const out = new Set<string>();
      for (const scope of scopes) {
        const colon = scope.indexOf(':');
        const kind = scope.slice(0, colon);
        const id = scope.slice(colon + 1);
        if (colon <= 0 || !isId(id)) continue;
        if (kind === 'estate') out.add(id);
        else if (kind === 'grid' || kind === 'street') {
          for (const e of snap.estates) if ((kind === 'grid' ? e.grid : e.street) === id) out.add(e.id);
        }
      }
      return [...out].sort(byKey);
    },
    recordStatus(status, receivedAt = now()) {
      const { estate, gateway } = status;
      const offline = status.state === 'offline';
      if (offline) for (const d of devices.values()) if (d.estate === estate && d.gateway === gateway) d.online = false;
      const rows: Array<{ device: string; seen: number; online: number }> = [];
      for (const [device, health] of Object.entries(status.devices ?? {})) {
        const seen = Math.min(health.lastSeen ?? status.ts, receivedAt);
        const online = health.online && status.state === 'online';
        rows.push({ device, seen, online: online ? 1 : 0 });
        const key = deviceKey(estate, gateway, device);
        const known = devices.get(key);
        if (known) {
          known.lastSeen = Math.max(known.lastSeen, seen);
          known.online = online;
        } else devices.set(key, { estate, gateway, device, firstSeen: seen, lastSeen: seen, online });
      }
      if (!offline && rows.length === 0) return deviceWrites;
      const persist = () =>
        hubDb.transaction(async (trx) => {
          if (offline) await trx.updateTable('devices').set({ online: 0 }).where('estate', '=', estate).where('gateway', '=', gateway).execute();
          for (const r of rows) {
            await trx
              .insertInto('devices')
              .values({ estate, gateway, device: r.device, first_seen: r.seen, last_seen: r.seen, online: r.online })
              .onConflict((oc) =>
                oc.columns(['estate', 'gateway', 'device']).doUpdateSet((eb) => ({
                  // MAX(a, b) is SQLite's and GREATEST PostgreSQL's: CASE is both engines'.
                  last_seen: eb.case().when('excluded.last_seen', '>', eb.ref('devices.last_seen')).then(eb.ref('excluded.last_seen')).else(eb.ref('devices.last_seen')).end(),
                  online: eb.ref('excluded.online'),
                })),
              )
              .execute();
          }
        });
      // In order behind the ones before; one failure does not stop the next.
      const done = deviceWrites.then(persist, persist);
      deviceWrites = done.catch(() => undefined);
      return done;
    },
    listDevices(filter = {}) {
      mustBeStarted();
      const out: DeviceRecord[] = [];
      for (const d of devices.values()) if (filter.estate === undefined || d.estate === filter.estate) out.push({ ...d });
      return out.sort((a, b) => byKey(a.estate, b.estate) || byKey(a.gateway, b.gateway) || byKey(a.device, b.device));
    },
    watchChanges: (listener, wantMs) => changes.watch(listener, wantMs),
  };
}

/** Create a registry on `db` and start it (the CLI, tests); the hub creates it and starts it in order. */
export async function openRegistry(db: HubDatabase, opts: Omit<RegistryDeps, 'db'>): Promise<Registry> {
  const registry = createRegistry({ ...opts, db });
  await registry.start();
  return registry;
}
