import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The audit log, `{dataDir}/audit.db`: who did what, to which estate, when. Written by logins, user
 * and roster changes (and, from the alerts work, commands and views of personal data). Append-only
 * through this interface; `seq` orders it and is the paging cursor.
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

export interface Audit {
  record(entry: { actor: string; action: string; estate?: string | null; target?: string | null; detail?: Record<string, unknown> | null; at?: number }): AuditEntry;
  /** Newest first; `next` is the `before` of the next page, absent on the last one. */
  query(q?: AuditQuery): { items: AuditEntry[]; next?: number };
  close(): void;
}

const MIGRATIONS = [
  `CREATE TABLE audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     estate TEXT,
     target TEXT,
     detail TEXT
   );
   CREATE INDEX audit_estate ON audit(estate, seq);
   CREATE INDEX audit_actor ON audit(actor, seq);`,
];

type Row = { seq: number; at: number; actor: string; action: string; estate: string | null; target: string | null; detail: string | null };
const toEntry = (r: Row): AuditEntry => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>) });

export function openAudit(dataDir: string, now: () => number = () => Date.now()): Audit {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'audit.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() < MIGRATIONS.length) {
    db.transaction(() => {
      for (let v = version(); v < MIGRATIONS.length; v++) {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      }
    }).immediate();
  }
  const insert = db.prepare('INSERT INTO audit (at, actor, action, estate, target, detail) VALUES (@at, @actor, @action, @estate, @target, @detail)');
  // One statement, every filter optional: NULL parameters switch a condition off; estates bound as one JSON array.
  const select = db.prepare<Record<string, unknown>, Row>(
    `SELECT * FROM audit
     WHERE (@estate IS NULL OR estate = @estate)
       AND (@estates IS NULL OR estate IN (SELECT value FROM json_each(@estates)))
       AND (@actor IS NULL OR actor = @actor)
       AND (@action IS NULL OR action = @action)
       AND (@before IS NULL OR seq < @before)
     ORDER BY seq DESC LIMIT @limit`,
  );

  return {
    record(e) {
      const row = {
        at: e.at ?? now(),
        actor: e.actor,
        action: e.action,
        estate: e.estate ?? null,
        target: e.target ?? null,
        detail: e.detail ? JSON.stringify(e.detail) : null,
      };
      const seq = Number(insert.run(row).lastInsertRowid);
      return toEntry({ seq, ...row });
    },
    query(q = {}) {
      const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
      const rows = select.all({
        estate: q.estate ?? null,
        estates: q.estates ? JSON.stringify(q.estates) : null,
        actor: q.actor ?? null,
        action: q.action ?? null,
        before: q.before ?? null,
        limit: limit + 1,
      });
      const more = rows.length > limit;
      const items = rows.slice(0, limit).map(toEntry);
      return more ? { items, next: items[items.length - 1]!.seq } : { items };
    },
    close: () => db.close(),
  };
}
