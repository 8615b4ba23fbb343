import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import type { Command, CommandResult } from '../../../protocol/index.js';
import type { Logger } from 'pino';
import type { Broker } from '../../../hub/broker/broker.js';
import type { Bus } from '../../../hub/bus.js';
import { createCommands, createCommandStore, type CommandStore } from '../../../hub/commands/index.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

const actor = { id: 'user:u1', name: '王阿姨', role: 'volunteer' as const };
const command = (over: Partial<Command> = {}): Command => ({
  v: 1,
  id: ulid(),
  device: 'gate-1',
  name: 'door.open',
  args: { door: 1 },
  issuedAt: 1_000,
  expiresAt: 31_000,
  actor,
  ...over,
});
const result = (id: string, over: Partial<CommandResult> = {}): CommandResult => ({ v: 1, id, device: 'gate-1', status: 'ok', ts: 2_000, data: { door: 1 }, ...over });

/** The commands repository's contract, run on every engine of the hub database (STYLE.md §4). */
export function describeCommands(engine: string, factory: DatabaseFactory): void {
  describe(`commands repository on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let store: CommandStore;
    beforeEach(async () => {
      t = await factory();
      store = createCommandStore(t.db);
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('records a sent command once; a re-send of the id is not a second row', async () => {
      const c = command({ args: { door: 2, note: '红管家 "q"' } });
      expect(await store.create('maple', 'gw-1', c)).toBe(true);
      expect(await store.create('maple', 'gw-1', c)).toBe(false);
      expect(await store.get(c.id)).toEqual({
        id: c.id,
        estate: 'maple',
        gateway: 'gw-1',
        device: 'gate-1',
        name: 'door.open',
        args: { door: 2, note: '红管家 "q"' },
        actor,
        issuedAt: 1_000,
        expiresAt: 31_000,
        state: 'sent',
        code: null,
        result: null,
        finishedAt: null,
      });
      expect(await store.get(ulid())).toBeUndefined();
    });

    it('the first answer settles it; a later answer, or one for another estate, changes nothing', async () => {
      const c = command();
      await store.create('maple', 'gw-1', c);
      expect(await store.finish('oak', result(c.id), 2_500)).toBeUndefined();
      const first = await store.finish('maple', result(c.id, { status: 'error', code: 'RB_ERR_DEVICE_FAILED', message: 'jammed' }), 2_500);
      expect(first).toMatchObject({ changed: true, record: { state: 'error', code: 'RB_ERR_DEVICE_FAILED', finishedAt: 2_500, result: { status: 'error', message: 'jammed' } } });
      const again = await store.finish('maple', result(c.id, { duplicate: true }), 3_000);
      expect(again).toMatchObject({ changed: false, record: { state: 'error', finishedAt: 2_500 } });
      expect(await store.finish('maple', result(ulid()), 3_000)).toBeUndefined();
    });

    it('expires what had no answer by its deadline, once, oldest first; answered ones are left alone', async () => {
      const a = command({ expiresAt: 10_000 });
      const b = command({ expiresAt: 5_000 });
      const answered = command({ expiresAt: 4_000 });
      const later = command({ expiresAt: 50_000 });
      for (const c of [a, b, answered, later]) await store.create('maple', 'gw-1', c);
      await store.finish('maple', result(answered.id), 3_000);
      const expired = await store.expire(20_000, 21_000);
      expect(expired.map((r) => r.id)).toEqual([b.id, a.id]);
      expect(expired[0]).toMatchObject({ state: 'expired', code: 'RB_ERR_COMMAND_TIMEOUT', finishedAt: 21_000 });
      expect(await store.expire(20_000, 22_000)).toEqual([]);
      // An answer after the sweep gave up does not bring it back.
      expect(await store.finish('maple', result(a.id), 23_000)).toMatchObject({ changed: false, record: { state: 'expired' } });
      expect((await store.get(later.id))!.state).toBe('sent');
      expect((await store.get(answered.id))!.state).toBe('ok');
    });

    it('lists an estate newest first with paging, and prunes only finished commands', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = command({ issuedAt: 1_000 + i, expiresAt: 100_000 });
        ids.push(c.id);
        await store.create(i === 4 ? 'oak' : 'maple', 'gw-1', c);
      }
      const page = await store.list({ estate: 'maple', limit: 2 });
      expect(page.map((r) => r.id)).toEqual([ids[3], ids[2]]);
      expect((await store.list({ estate: 'maple', before: page[1]!.issuedAt })).map((r) => r.id)).toEqual([ids[1], ids[0]]);
      await store.finish('maple', result(ids[0]!), 2_000);
      expect(await store.prune(10_000)).toBe(1);
      expect(await store.get(ids[0]!)).toBeUndefined();
      expect(await store.get(ids[1]!)).toBeDefined();
    });

    it('settled(): the rows of the given ids that were answered or expired, in one query', async () => {
      const [open, done, expired] = [command({ expiresAt: 50_000 }), command(), command({ expiresAt: 1_500 })];
      for (const c of [open, done, expired]) await store.create('maple', 'gw-1', c);
      await store.finish('maple', result(done.id), 2_000);
      await store.expire(2_000, 2_000);
      const rows = await store.settled([open.id, done.id, expired.id, ulid()]);
      expect(rows.map((r) => [r.id, r.state]).sort()).toEqual([[done.id, 'ok'], [expired.id, 'expired']].sort());
      expect(await store.settled([])).toEqual([]);
    });

    it('a command sent on one node and answered through another: the sender learns it by re-reading the row (pollMs)', async () => {
      const quiet = () => undefined;
      const log = { info: quiet, warn: quiet, error: quiet, debug: quiet } as unknown as Logger;
      const listeners = new Set<(r: { estate: string; gateway: string; result: CommandResult }) => unknown>();
      const node = (bus: Bus, pollMs?: number) =>
        createCommands({
          broker: { available: () => true, publish: async () => undefined } as unknown as Broker,
          bus,
          store,
          push: { transaction: (fn) => t.db.transaction((trx) => fn(trx, { toEstate: async () => undefined } as never)) },
          audit: { recordIn: async () => ({}) as never },
          log,
          ...(pollMs ? { pollMs } : {}),
        });
      const silent = { on: () => () => undefined, emit: quiet } as unknown as Bus;
      const wired = { on: (_: string, f: never) => (listeners.add(f), () => listeners.delete(f)), emit: quiet } as unknown as Bus;
      const a = node(silent, 20);
      const b = node(wired);
      b.start();
      try {
        const sent = a.send({ estate: 'maple', gateway: 'gw-1', device: 'gate-1', name: 'door.open', args: { door: 1 }, actor, ttlMs: 60_000 });
        let id: string | undefined;
        for (let i = 0; i < 100 && !id; i++) {
          id = (await store.list({ estate: 'maple' }))[0]?.id;
          if (!id) await new Promise((r) => setTimeout(r, 10));
        }
        for (const f of listeners) await f({ estate: 'maple', gateway: 'gw-1', result: result(id!) });
        expect((await sent).result).toMatchObject({ id, status: 'ok' });
      } finally {
        b.stop();
        a.stop();
      }
    });
  });
}
