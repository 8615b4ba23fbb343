import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../../hub/store/influx-line.js';
import { useInfluxd } from '../../support/use-influxd.js';
import { makeEvent, newestFirst, T0 } from './contract.js';
import { dropDatabase, influxStore, useTempDir } from './influx-support.js';

const server = useInfluxd();
const dir = useTempDir('rb-influx-legacy-journal-');

describe('influx spool of a hub up to 0.1.0 (which acknowledged events once in its journal)', () => {
  it('moves the journal left by a crash to the spool at start and writes every point once', async () => {
    const db = 'rb_legacy_journal';
    const spoolFile = join(dir(), 'influx-spool.db');
    const events = Array.from({ length: 300 }, (_, i) => makeEvent('door.opened', { door: 1 + (i % 4) }, { ts: T0 + i }));
    // The old layout: one journal row per ingest batch, ids and lines joined with newlines.
    const old = new Database(spoolFile);
    old.exec('CREATE TABLE journal (n INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL, lines TEXT NOT NULL)');
    for (let k = 0; k < 3; k++) {
      const part = events.slice(k * 100, k * 100 + 100);
      const lines = part.map((e) => {
        const r = encodeEvent(e, T0);
        if (!r.ok) throw new Error(r.reason);
        return r.line;
      });
      old.prepare('INSERT INTO journal (ids, lines) VALUES (?, ?)').run(part.map((e) => e.id).join('\n'), lines.join('\n'));
    }
    old.close();

    const store = influxStore(server().url, db, dir(), { spoolFile, retention: { raw: 'INF' } });
    await store.start();
    try {
      expect(await store.drained(15_000)).toBe(true);
      expect(store.stats()).toMatchObject({ spooled: 300, replayed: 300, spoolDepth: 0, mode: 'direct' });
      expect(await store.query({ limit: 1000 })).toEqual([...events].sort(newestFirst));
    } finally {
      await store.stop();
      await dropDatabase(server().url, db);
    }
    // Moved, not copied: a second start finds nothing to recover.
    const again = new Database(spoolFile, { readonly: true });
    expect(again.prepare('SELECT count(*) AS n FROM journal').get()).toEqual({ n: 0 });
    again.close();
  });
});
