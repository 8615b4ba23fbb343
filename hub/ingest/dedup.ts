import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The hub's memory of event ids already accepted, on disk (`{dataDir}/dedup.db`), so a gateway that
 * re-sends after a hub restart (it never got the PUBACK) does not make a second copy reach the bus,
 * the alerts and the screens. The stores are idempotent by id on their own; this window keeps the
 * rest of the hub exactly-once too.
 *
 * Bounded: the oldest ids beyond `capacity` are pruned (in batches, not per event). A gateway's outbox
 * replays at most what it holds, so the window must cover the largest backlog expected.
 */
export interface DedupWindow {
  has(id: string): boolean;
  add(id: string): void;
  /** Add several ids in one transaction. */
  addMany(ids: readonly string[]): void;
  size(): number;
  close(): void;
}

export function openDedupWindow(dataDir: string, capacity: number): DedupWindow {
  const db = new Database(join(dataDir, 'dedup.db'));
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a process crash loses nothing committed; a power cut may lose the newest ids,
  // which then get stored again idempotently and pushed a second time at worst.
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS seen (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)');
  const hasStmt = db.prepare<[string], { n: number }>('SELECT n FROM seen WHERE id = ?');
  const addStmt = db.prepare('INSERT OR IGNORE INTO seen (id) VALUES (?)');
  const maxStmt = db.prepare<[], { n: number | null }>('SELECT max(n) AS n FROM seen');
  const minStmt = db.prepare<[], { n: number | null }>('SELECT min(n) AS n FROM seen');
  const pruneStmt = db.prepare('DELETE FROM seen WHERE n <= ?');
  let count = (db.prepare('SELECT count(*) AS c FROM seen').get() as { c: number }).c;

  function prune(): void {
    const max = maxStmt.get()?.n ?? 0;
    pruneStmt.run(max - capacity);
    const min = minStmt.get()?.n ?? 0;
    count = max - min + 1;
  }

  const addAll = db.transaction((ids: readonly string[]) => {
    for (const id of ids) if (addStmt.run(id).changes > 0) count++;
  });

  return {
    has: (id) => hasStmt.get(id) !== undefined,
    add(id) {
      if (addStmt.run(id).changes > 0) count++;
      // Prune when 10 % over, so the delete runs once per capacity/10 events.
      if (count > capacity * 1.1) prune();
    },
    addMany(ids) {
      addAll(ids);
      if (count > capacity * 1.1) prune();
    },
    size: () => count,
    close: () => db.close(),
  };
}
