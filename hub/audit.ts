import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { HubDatabase, Schema } from './platform/db/index.js';

/**
 * The audit log, table `audit` of the hub database (hub/platform/db): who did what, to which
 * estate, when. Written by logins, user and roster changes, commands and views of personal data.
 * Append-only through this interface; `seq` orders it and is the paging cursor.
 */
export interface AuditEntry {
  seq: number;
  at: number;
  /** `user:<id>`, `system` or `cli` */
  actor: string;
  /** dotted verb, e.g. `auth.login`, `user.add`, `roster.shift.add` */
  action: string;
  estate: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditQuery {
  /** Only this estate. */
  estate?: string;
  /** Only these estates (a scoped reader); entries without an estate are left out. Unset = every entry. */
  estates?: readonly string[];
  actor?: string;
  action?: string;
  limit?: number;
  /** Entries with a smaller seq (the `next` of the previous page). */
  before?: number;
}

export type AuditInput = { actor: string; action: string; estate?: string | null; target?: string | null; detail?: Record<string, unknown> | null; at?: number };

export interface Audit {
  /** Append one entry; resolves once it is committed (a request handler awaits it before answering). */
  record(entry: AuditInput): Promise<AuditEntry>;
  /** Append inside a caller's transaction (the alert outbox): committed, or rolled back, with what else it wrote. */
  recordIn(trx: Kysely<Schema>, entry: AuditInput): Promise<AuditEntry>;
  /** Append without waiting, for callers that cannot wait (a push handshake, a command's late answer): a failure is logged. */
  recordInBackground(entry: AuditInput): void;
  /** Newest first; `next` is the `before` of the next page, absent on the last one. */
  query(q?: AuditQuery): Promise<{ items: AuditEntry[]; next?: number }>;
}

type Row = { seq: number; at: number; actor: string; action: string; estate: string | null; target: string | null; detail: string | null };
const toEntry = (r: Row): AuditEntry => ({
  seq: r.seq,
  at: r.at,
  actor: r.actor,
  action: r.action,
  estate: r.estate,
  target: r.target,
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
});

export interface AuditDeps {
  db: HubDatabase;
  log: Logger;
  now?: () => number;
}

/** The audit repository on the hub database: the same queries on SQLite and PostgreSQL (test/hub/platform/audit.contract.ts). */
export function createAudit({ db: { db }, log, now = () => Date.now() }: AuditDeps): Audit {
  const recordIn = async (exec: Kysely<Schema>, e: AuditInput): Promise<AuditEntry> => {
    const row = {
      at: e.at ?? now(),
      actor: e.actor,
      action: e.action,
      estate: e.estate ?? null,
      target: e.target ?? null,
      detail: e.detail ? JSON.stringify(e.detail) : null,
    };
    const { seq } = await exec.insertInto('audit').values(row).returning('seq').executeTakeFirstOrThrow();
    return toEntry({ seq: Number(seq), ...row });
  };
  const record = (e: AuditInput): Promise<AuditEntry> => recordIn(db, e);
  return {
    record,
    recordIn,
    recordInBackground(e) {
      record(e).catch((err: unknown) => log.error({ err, action: e.action, actor: e.actor }, 'audit write failed'));
    },
    async query(q = {}) {
      const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
      // A scope of no estate reads nothing (and `IN ()` is no SQL either engine takes).
      if (q.estates && q.estates.length === 0) return { items: [] };
      let select = db.selectFrom('audit').selectAll();
      if (q.estate !== undefined) select = select.where('estate', '=', q.estate);
      if (q.estates) select = select.where('estate', 'in', [...q.estates]);
      if (q.actor !== undefined) select = select.where('actor', '=', q.actor);
      if (q.action !== undefined) select = select.where('action', '=', q.action);
      if (q.before !== undefined) select = select.where('seq', '<', q.before);
      const rows = await select.orderBy('seq', 'desc').limit(limit + 1).execute();
      const more = rows.length > limit;
      const items = rows.slice(0, limit).map(toEntry);
      return more ? { items, next: items[items.length - 1]!.seq } : { items };
    },
  };
}
