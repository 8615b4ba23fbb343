import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBus } from '../../../hub/bus.js';
import { createEventLog, createLogFeed, type LogEntryInput } from '../../../hub/eventlog/index.js';
import type { RbEvent } from '../../../protocol/index.js';
import { makeEvent } from '../../support/hub.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

const silent = pino({ level: 'silent' });
const entry = (e: RbEvent): LogEntryInput => ({ key: e.id, kind: 'event', estate: e.estate, body: e });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The event log's contract (append with dedup, positions, cursors, resume, retention), on every engine of the hub database. */
export function describeEventLog(engine: string, factory: DatabaseFactory): void {
  describe(`event log on ${engine}`, () => {
    let t: DatabaseUnderTest;
    beforeEach(async () => {
      t = await factory();
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('appends once per key: a duplicate (in the log, or twice in one batch) is left out; positions increase', async () => {
      const log = createEventLog({ db: t.db });
      const [a, b, c] = [makeEvent(), makeEvent(), makeEvent()];
      const first = await log.append([entry(a), entry(b), entry(a)]);
      expect(first.map((e) => e.key)).toEqual([a.id, b.id]);
      expect(first[1]!.pos).toBeGreaterThan(first[0]!.pos);
      const second = await log.append([entry(b), entry(c)]);
      expect(second.map((e) => e.key)).toEqual([c.id]);
      expect(second[0]!.pos).toBeGreaterThan(first[1]!.pos);
      expect(await log.append([entry(a), entry(b), entry(c)])).toEqual([]);
      expect(await log.count()).toBe(3);
      expect(await log.head()).toBe(second[0]!.pos);
      // Read back in position order, bodies as written (every envelope field).
      const read = await log.read(0, 10);
      expect(read.map((e) => e.body)).toEqual([a, b, c]);
      expect(read.map((e) => e.pos)).toEqual([first[0]!.pos, first[1]!.pos, second[0]!.pos]);
      expect((await log.read(first[1]!.pos, 10)).map((e) => e.key)).toEqual([c.id]);
      expect((await log.read(0, 2)).map((e) => e.key)).toEqual([a.id, b.id]);
    });

    it('appends in the caller\'s transaction: rolled back with it, then appended again as new', async () => {
      const log = createEventLog({ db: t.db });
      const a = makeEvent();
      await expect(
        t.db.transaction(async (trx) => {
          expect(await log.append([entry(a)], trx)).toHaveLength(1);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await log.count()).toBe(0);
      expect(await log.append([entry(a)])).toHaveLength(1);
    });

    it('takes 2,500 entries in one append (chunked statements)', async () => {
      const log = createEventLog({ db: t.db });
      const events = Array.from({ length: 2_500 }, (_, i) => makeEvent({ seq: i + 1 }));
      const added = await log.append(events.map(entry));
      expect(added).toHaveLength(2_500);
      expect(added.every((e, i) => i === 0 || e.pos > added[i - 1]!.pos)).toBe(true);
      expect((await log.read(0, 5_000)).map((e) => (e.body as RbEvent).seq)).toEqual(events.map((e) => e.seq));
    });

    it('one append of new entries, entries already logged and keys twice: positions for the new ones only, in order, bodies read back equal', async () => {
      const log = createEventLog({ db: t.db });
      const logged = Array.from({ length: 40 }, (_, i) => makeEvent({ seq: i + 1 }));
      await log.append(logged.map(entry));
      // Bodies with what array and JSON encodings escape: quotes, backslashes, braces, commas, NULL, CJK.
      const odd = (i: number): LogEntryInput => ({ key: `odd:${i}`, kind: 'status', estate: 'e1', body: { i, text: `红管家 "q" \\ {a,b} NULL ${i}`, empty: '' } });
      const batch: LogEntryInput[] = [];
      for (let i = 0; i < 300; i++) {
        batch.push(odd(i));
        if (i % 10 === 0) batch.push(entry(logged[i / 10]!)); // already in the log
        if (i % 7 === 0) batch.push(odd(i)); // twice in this batch
      }
      const added = await log.append(batch);
      expect(added.map((e) => e.key)).toEqual(Array.from({ length: 300 }, (_, i) => `odd:${i}`));
      expect(added.every((e, i) => i === 0 || e.pos > added[i - 1]!.pos)).toBe(true);
      const read = await log.read(added[0]!.pos - 1, 1_000);
      expect(read.map((e) => [e.pos, e.key, e.kind, e.estate])).toEqual(added.map((e) => [e.pos, e.key, 'status', 'e1']));
      expect(read.map((e) => e.body)).toEqual(Array.from({ length: 300 }, (_, i) => odd(i).body));
    });

    it('seeded keys (a legacy dedup window) are duplicates and are never read', async () => {
      const log = createEventLog({ db: t.db });
      const [old, fresh] = [makeEvent(), makeEvent()];
      expect(await log.seed([old.id, old.id], Date.now())).toBe(1);
      expect(await log.append([entry(old), entry(fresh)])).toHaveLength(1);
      expect((await log.read(0, 10)).map((e) => e.key)).toEqual([fresh.id]);
    });

    it('keeps cursors per consumer; a cursor never moves back', async () => {
      const log = createEventLog({ db: t.db });
      await log.saveCursors(new Map([['alerts', 5], ['push', 7]]));
      await log.saveCursors(new Map([['alerts', 9], ['push', 3]]));
      expect(await log.cursors()).toEqual(new Map([['alerts', 9], ['push', 7]]));
      // Many in one transaction (a cluster node: a cursor per consumer and partition), past one statement's worth.
      const many = new Map(Array.from({ length: 700 }, (_, i) => [`alerts@${i}`, i + 1] as const));
      await t.db.transaction((trx) => log.saveCursorsIn(trx, many));
      await t.db.transaction((trx) => log.saveCursorsIn(trx, new Map([['alerts@5', 2], ['alerts@699', 1000], ['push', 8]])));
      const after = await log.cursors();
      expect(after.size).toBe(702);
      expect([after.get('alerts@0'), after.get('alerts@5'), after.get('alerts@699'), after.get('push')]).toEqual([1, 6, 1000, 8]);
    });

    it('retention: by count and by age, never past the slowest cursor unless over the hard cap', async () => {
      const log = createEventLog({ db: t.db, retention: { maxRows: 10, maxAgeMs: 60_000, hardCapRows: 30 } });
      const added = await log.append(Array.from({ length: 25 }, () => entry(makeEvent())));
      const pos = added.map((e) => e.pos);
      // The slowest consumer is at the 5th entry: only the first 5 may go, though 15 are past the count.
      await log.saveCursors(new Map([['alerts', pos[4]!], ['push', pos[20]!]]));
      expect(await log.prune()).toEqual({ deleted: 5, forced: 0 });
      expect((await log.read(0, 100))[0]!.pos).toBe(pos[5]);
      // Cursors caught up: by count, the newest 10 stay.
      await log.saveCursors(new Map([['alerts', pos[24]!], ['push', pos[24]!]]));
      expect(await log.prune()).toEqual({ deleted: 10, forced: 0 });
      expect(await log.count()).toBe(10);
      // By age: everything is older than a minute an hour from now.
      expect(await log.prune(Date.now() + 3_600_000)).toEqual({ deleted: 10, forced: 0 });
      expect(await log.count()).toBe(0);
      // Over the hard cap with a consumer behind: the oldest go anyway, counted as forced.
      const more = await log.append(Array.from({ length: 35 }, () => entry(makeEvent())));
      await log.saveCursors(new Map([['facts', more[0]!.pos - 1]]));
      expect(await log.prune()).toEqual({ deleted: 5, forced: 5 });
      expect(await log.count()).toBe(30);
      // A key pruned is no longer a duplicate (the window is the log).
      expect(await log.append([entry(more[0]!.body as RbEvent)])).toHaveLength(1);
    });

    it('retention by age cuts between two appends (a binary search over positions)', async () => {
      const log = createEventLog({ db: t.db, retention: { maxRows: 10_000, maxAgeMs: 60_000 } });
      const older: string[] = [];
      for (let i = 0; i < 7; i++) older.push(...(await log.append([entry(makeEvent()), entry(makeEvent())])).map((e) => e.key));
      await new Promise((r) => setTimeout(r, 5));
      const newer = await log.append(Array.from({ length: 9 }, () => entry(makeEvent())));
      await log.saveCursors(new Map([['alerts', newer[8]!.pos]]));
      // The cutoff is the newer batch's stamp: every older entry goes, none of the newer.
      expect(await log.prune(newer[0]!.at + 60_000)).toEqual({ deleted: 14, forced: 0 });
      expect((await log.read(0, 100)).map((e) => e.key)).toEqual(newer.map((e) => e.key));
      expect(older).toHaveLength(14);
    });

    it('feed: delivers committed entries in order to every consumer and live listener, after the append resolves', async () => {
      const log = createEventLog({ db: t.db });
      const feed = createLogFeed({ log, db: t.db, bus: createBus(silent), logger: silent, commitEveryMs: 5 });
      const got: Record<string, string[]> = { alerts: [], push: [], live: [] };
      for (const name of ['alerts', 'push'] as const) feed.consumer(name).on('event', (e) => void got[name]!.push(e.id));
      feed.bus.on('event', (e) => void got.live!.push(e.id));
      const statuses: string[] = [];
      feed.consumer('state').on('gateway.status', (s) => void statuses.push(s.gateway));
      await feed.start();
      const events = Array.from({ length: 5 }, () => makeEvent());
      const added = await feed.append(events.map(entry));
      expect(added).toHaveLength(5);
      // Not yet: delivery waits for a later turn (the PUBACKs go out first).
      expect(got.alerts).toEqual([]);
      await tick();
      for (const list of Object.values(got)) expect(list).toEqual(events.map((e) => e.id));
      // A duplicate is not delivered again; a logged message emitted on the bus is appended, then delivered.
      await feed.append([entry(events[0]!)]);
      feed.bus.emit('gateway.status', { v: 1, estate: 'e', gateway: 'gw-9', ts: 1, online: true } as never);
      await expect.poll(() => statuses).toEqual(['gw-9']);
      expect(got.alerts).toHaveLength(5);
      await feed.stop();
      expect(await log.cursors()).toEqual(new Map([['alerts', await log.head()], ['push', await log.head()], ['state', await log.head()]]));
    });

    it('feed: each consumer resumes from its own cursor after a restart; a new consumer starts at the head', async () => {
      const log = createEventLog({ db: t.db });
      const first = createLogFeed({ log, db: t.db, bus: createBus(silent), logger: silent });
      const before: string[] = [];
      first.consumer('alerts').on('event', (e) => void before.push(e.id));
      first.consumer('push');
      await first.start();
      const e1 = makeEvent();
      await first.append([entry(e1)]);
      await tick();
      await first.flushCursors();
      expect(before).toEqual([e1.id]);
      // The hub dies: committed and acknowledged, never delivered (no turn passes, cursors not saved).
      const lost = [makeEvent(), makeEvent()];
      await log.append(lost.map(entry));
      // Restart: alerts gets exactly the two it missed; push (its cursor was saved at e1 too) the same; facts is new.
      const second = createLogFeed({ log, db: t.db, bus: createBus(silent), logger: silent });
      const got: Record<string, string[]> = { alerts: [], push: [], facts: [] };
      for (const name of ['alerts', 'push', 'facts'] as const) second.consumer(name).on('event', (e) => void got[name]!.push(e.id));
      await second.start();
      expect(got.alerts).toEqual(lost.map((e) => e.id));
      expect(got.push).toEqual(lost.map((e) => e.id));
      expect(got.facts).toEqual([]);
      const e4 = makeEvent();
      await second.append([entry(e4)]);
      await tick();
      expect(got.facts).toEqual([e4.id]);
      expect(got.alerts).toEqual([...lost.map((e) => e.id), e4.id]);
      await second.stop();
      const head = await log.head();
      expect(await log.cursors()).toEqual(new Map([['alerts', head], ['push', head], ['facts', head]]));
    });

    it('feed: a consumer\'s cursor stays before an entry its listener is still working on (async listener)', async () => {
      const log = createEventLog({ db: t.db });
      const feed = createLogFeed({ log, db: t.db, bus: createBus(silent), logger: silent });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      feed.consumer('facts').on('event', (e) => (e.seq === 2 ? gate : undefined));
      await feed.start();
      const added = await feed.append([1, 2, 3].map((seq) => entry(makeEvent({ seq }))));
      await tick();
      await feed.flushCursors();
      expect((await log.cursors()).get('facts')).toBe(added[0]!.pos);
      release();
      await gate;
      await tick();
      await feed.flushCursors();
      expect((await log.cursors()).get('facts')).toBe(added[2]!.pos);
      await feed.stop();
    });

    it('feed: a consumer whose sink commits its cursor gets each entry\'s position, and the feed never saves that cursor', async () => {
      const log = createEventLog({ db: t.db });
      const feed = createLogFeed({ log, db: t.db, bus: createBus(silent), logger: silent });
      const seen: Array<[string, number | undefined]> = [];
      feed.consumer('push', { cursorInSink: true }).on('event', (e, pos) => void seen.push([e.id, pos]));
      feed.consumer('facts');
      await feed.start();
      const start = (await log.cursors()).get('push')!;
      const added = await feed.append([1, 2].map((seq) => entry(makeEvent({ seq }))));
      await tick();
      await feed.flushCursors();
      await feed.stop();
      expect(seen).toEqual(added.map((a) => [a.key, a.pos]));
      // facts moved on; push stays where its sink (here: nobody) left it.
      expect((await log.cursors()).get('facts')).toBe(added[1]!.pos);
      expect((await log.cursors()).get('push')).toBe(start);
      // The sink commits it in its own transaction, forward only.
      await t.db.transaction((trx) => log.saveCursorIn(trx, 'push', added[0]!.pos));
      await t.db.transaction((trx) => log.saveCursorIn(trx, 'push', start));
      expect((await log.cursors()).get('push')).toBe(added[0]!.pos);
    });
  });
}
