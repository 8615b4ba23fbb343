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
  const addStmt = db.prepare('INSERT OR IGNORE INTO seen (id) VALUES (?)');
  const maxStmt = db.prepare<[], { n: number | null }>('SELECT max(n) AS n FROM seen');
  const pruneStmt = db.prepare('DELETE FROM seen WHERE n <= ?');

  // The whole window also lives in memory (a Set, ~100 bytes an id: 200k ids ≈ 20 MiB), so has()
  // never reads the disk: it ran once per event on the ingest path. The disk stays the authority
  // across restarts: loaded here, written (one transaction per ingest batch) before the ack.
  // `order` keeps the ids oldest first, as `n` does, so both prune the same ids.
  const seen = new Set<string>();
  let order: string[] = [];
  let head = 0;
  const load = (): void => {
    seen.clear();
    order = db.prepare<[], { id: string }>('SELECT id FROM seen ORDER BY n').all().map((r) => r.id);
    head = 0;
    for (const id of order) seen.add(id);
  };
  load();

  function prune(): void {
    const max = maxStmt.get()?.n ?? 0;
    pruneStmt.run(max - capacity);
    // Rows are numbered without gaps (INSERT OR IGNORE takes no number when it ignores; only this
    // prune deletes), so the newest `capacity` ids are the ones kept on disk.
    while (order.length - head > capacity) seen.delete(order[head++]!);
    order = order.slice(head);
    head = 0;
  }

  // Multi-row INSERTs (chunks of 64, 16, 4, 1 ids; each statement prepared once): one native call
  // per chunk rather than one per id. Returns the ids new to the window: after the transaction every
  // one of them is on disk (inserted now, or ignored because the disk had it, which cannot happen
  // while memory mirrors the disk), so memory takes them all.
  const inserts = new Map<number, Database.Statement>([[1, addStmt]]);
  const insertOf = (n: number): Database.Statement => {
    let stmt = inserts.get(n);
    if (!stmt) inserts.set(n, (stmt = db.prepare(`INSERT OR IGNORE INTO seen (id) VALUES ${new Array<string>(n).fill('(?)').join(', ')}`)));
    return stmt;
  };
  const CHUNKS = [64, 16, 4, 1];
  const addAll = db.transaction((ids: readonly string[]): string[] => {
    const fresh = new Set<string>();
    for (const id of ids) if (!seen.has(id)) fresh.add(id);
    const list = [...fresh];
    let at = 0;
    for (const size of CHUNKS) {
      for (; list.length - at >= size; at += size) insertOf(size).run(size === list.length ? list : list.slice(at, at + size));
    }
    return list;
  });

  function remember(added: readonly string[]): void {
    for (const id of added) {
      seen.add(id);
      order.push(id);
    }
    // Prune when 10 % over, so the delete runs once per capacity/10 events.
    if (order.length - head > capacity * 1.1) prune();
  }

  return {
    has: (id) => seen.has(id),
    add(id) {
      remember(addAll([id]));
    },
    addMany(ids) {
      // One transaction; memory is updated only once it is committed.
      remember(addAll(ids));
    },
    size: () => order.length - head,
    close: () => db.close(),
  };
}
