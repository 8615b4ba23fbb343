import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { HubDatabase, Schema } from './platform/db/index.js';
import type { CredentialChange } from './registry-types.js';

/** Change rows kept (older ones are pruned): far more than a hub misses between two polls. */
const MAX_CHANGES = 1000;
/** How long a hole in the change ids is watched for a late commit (PostgreSQL, below). */
const GAP_TTL_MS = 30_000;
const MAX_GAPS = 1000;


const CREDENTIAL_KINDS = new Set<string>(['add', 'rotate', 'revoke']);
export type ChangeKind = CredentialChange['kind'] | 'street' | 'grid' | 'estate';


type Trx = Transaction<Schema>;
type Ids = { estate?: string; gateway?: string; target?: string };

export interface RegistryChangesDeps {
  db: HubDatabase;
  log: Logger;
  now: () => number;
  /** How often to look for changes written by another process (default 1 s). */
  pollMs?: number | undefined;
  /** Reload the registry's in-memory copy (one at a time; resolves after the load). */
  reload: () => Promise<void>;
  /** A credential change, before the listeners hear it (the auth cache forgets the gateway). */
  onCredential: (change: CredentialChange) => void;
  isClosed: () => boolean;
}

/**
 * The registry's change journal (`registry_changes`): every write appends a row in its transaction;
 * the hub polls `WHERE id > cursor` every `pollMs`, reloads the copy when another process (the CLI,
 * later another node) wrote, and tells `watchChanges` listeners about credential changes.
 */
export function createRegistryChanges(deps: RegistryChangesDeps) {
  const { log, now } = deps;
  let pollMs = deps.pollMs ?? 1000;
  const listeners = new Set<(c: CredentialChange) => void>();
  /** Ids of changes this object wrote: the poller skips them (their writer already reloaded and told listeners). */
  const mine = new Set<number>();
  let cursor = 0;
  /**
   * Holes below the cursor that may still fill: on PostgreSQL an identity value is taken at insert
   * and becomes visible at commit, so id 5 can appear after id 6 was read. Each hole is asked for
   * again until it shows up or GAP_TTL_MS passes (a rolled-back insert leaves a hole for good).
   */
  const gaps = new Map<number, number>();
  let poller: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  /** The copy missed a reload (a database error): the next poll reloads. */
  let stale = false;
  let pollFailing = false;

  async function addChange(trx: Trx, kind: ChangeKind, at: number, ids: { estate?: string; gateway?: string; target?: string }): Promise<number> {
    const { id } = await trx
      .insertInto('registry_changes')
      .values({ kind, estate: ids.estate ?? null, gateway: ids.gateway ?? null, target: ids.target ?? null, at })
      .returning('id')
      .executeTakeFirstOrThrow();
    const seq = Number(id);
    mine.add(seq);
    if (seq > MAX_CHANGES) await trx.deleteFrom('registry_changes').where('id', '<=', seq - MAX_CHANGES).execute();
    return seq;
  }

  /** Run one write with its change row in one transaction, then reload the copy; a failed write leaves no id behind. */
  async function write<T>(fn: (trx: Trx, change: (kind: ChangeKind, at: number, ids: Ids) => Promise<number>) => Promise<T>): Promise<T> {
    const ids: number[] = [];
    let result: T;
    try {
      result = await deps.db.transaction((trx) =>
        fn(trx, async (kind, at, who) => {
          const seq = await addChange(trx, kind, at, who);
          ids.push(seq);
          return seq;
        }),
      );
    } catch (err) {
      for (const id of ids) mine.delete(id);
      throw err;
    }
    // Committed: a failed reload does not make the write fail; the next poll reloads again.
    await deps.reload().catch((err: unknown) => {
      stale = true;
      log.warn({ err }, 'registry reload after a write failed; retrying at the next poll');
    });
    return result;
  }

  function tell(change: CredentialChange): void {
    deps.onCredential(change);
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        log.error({ err, change }, 'registry change listener failed');
      }
    }
  }

  async function pollOnce(): Promise<void> {
    const holes = [...gaps.keys()];
    const rows = await deps.db.db
      .selectFrom('registry_changes')
      .select(['id', 'kind', 'estate', 'gateway', 'at'])
      .where((eb) => (holes.length > 0 ? eb.or([eb('id', '>', cursor), eb('id', 'in', holes)]) : eb('id', '>', cursor)))
      .orderBy('id')
      .execute();
    const t = now();
    for (const [id, until] of gaps) if (until <= t) gaps.delete(id);
    let foreign = false;
    const heard: CredentialChange[] = [];
    for (const r of rows) {
      const id = Number(r.id);
      gaps.delete(id);
      if (id > cursor) {
        for (let hole = Math.max(cursor + 1, id - MAX_GAPS); hole < id; hole++) if (gaps.size < MAX_GAPS) gaps.set(hole, t + GAP_TTL_MS);
        cursor = id;
      }
      if (mine.delete(id)) continue;
      foreign = true;
      if (CREDENTIAL_KINDS.has(r.kind) && r.estate !== null && r.gateway !== null) {
        heard.push({ seq: id, kind: r.kind as CredentialChange['kind'], estate: r.estate, gateway: r.gateway, at: r.at });
      }
    }
    // Reload before telling: a listener that reads the registry sees the change.
    if (foreign || stale) {
      stale = false;
      // A failed reload is retried at the next poll; the changes are told all the same (a revoke still kicks).
      await deps.reload().catch((err: unknown) => {
        stale = true;
        log.warn({ err }, 'registry reload failed; retrying at the next poll');
      });
    }
    if (!deps.isClosed()) for (const c of heard) tell(c);
  }

  function poll(): void {
    if (deps.isClosed() || polling) return;
    polling = pollOnce()
      .then(() => {
        if (pollFailing) log.info('registry change poll works again');
        pollFailing = false;
      })
      .catch((err: unknown) => {
        // Once per outage, not once a second.
        if (!pollFailing) log.warn({ err }, 'registry change poll failed; retrying every poll');
        pollFailing = true;
      })
      .finally(() => {
        polling = undefined;
      });
  }

  function schedule(): void {
    if (poller) clearInterval(poller);
    poller = setInterval(poll, pollMs);
    poller.unref();
  }

  return {
    write,
    tell,
    /** Read the newest change id as the cursor (at start, before the first load). */
    async readCursor(): Promise<void> {
      const last = await deps.db.db.selectFrom('registry_changes').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
      cursor = Number(last?.id ?? 0);
    },
    start(): void {
      schedule();
    },
    async stop(): Promise<void> {
      if (poller) clearInterval(poller);
      poller = undefined;
      listeners.clear();
      await polling;
    },
    watch(listener: (change: CredentialChange) => void, wantMs?: number): () => void {
      listeners.add(listener);
      if (wantMs !== undefined && wantMs < pollMs) {
        pollMs = wantMs;
        if (poller) schedule();
      }
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
