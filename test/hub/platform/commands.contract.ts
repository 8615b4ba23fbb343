import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import type { Command, CommandResult } from '../../../protocol/index.js';
import type { Logger } from 'pino';
import type { Broker } from '../../../hub/broker/broker.js';
import type { Bus } from '../../../hub/bus.js';
import { createCommands, createCommandStore, type CommandStore } from '../../../hub/commands/index.js';
import { RbError } from '../../../hub/errors.js';
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

    it('fail(): a recorded command that was never sent is an error with the hub\'s code at once; answered or unknown ones are left alone', async () => {
      const [c, answered] = [command(), command()];
      for (const x of [c, answered]) await store.create('maple', 'gw-1', x);
      await store.finish('maple', result(answered.id), 2_000);
      expect(await store.fail(c.id, 'RB_ERR_CLUSTER_UNAVAILABLE', 1_500)).toMatchObject({ id: c.id, state: 'error', code: 'RB_ERR_CLUSTER_UNAVAILABLE', finishedAt: 1_500, result: null });
      expect(await store.fail(c.id, 'RB_ERR_CLUSTER_UNAVAILABLE', 1_600)).toBeUndefined();
      expect(await store.fail(answered.id, 'RB_ERR_CLUSTER_UNAVAILABLE', 2_500)).toBeUndefined();
      expect(await store.fail(ulid(), 'RB_ERR_CLUSTER_UNAVAILABLE', 2_500)).toBeUndefined();
      expect((await store.get(answered.id))!.state).toBe('ok');
      // A late answer does not turn it into a success.
      expect(await store.finish('maple', result(c.id), 3_000)).toMatchObject({ changed: false, record: { state: 'error' } });
    });

    describe('a publish that fails after the command was recorded (cluster: Redis lost between the check and the publish)', () => {
      const quiet = () => undefined;
      const log = { info: quiet, warn: quiet, error: quiet, debug: quiet } as unknown as Logger;
      const silent = { on: () => () => undefined, emit: quiet } as unknown as Bus;
      const notSent = () => new RbError('RB_ERR_CLUSTER_UNAVAILABLE', "the cluster's Redis (cluster.redisUrl) is unreachable; nothing was sent on rb/v1/maple/gw-1/cmd/gate-1", { sent: false });
      const mayArrive = () => new RbError('RB_ERR_CLUSTER_UNAVAILABLE', 'did not answer in 2000 ms; what was sent may still arrive until it expires', { sent: 'maybe' });
      const service = (failure: () => Error) => {
        const audited: Array<{ action: string; detail?: Record<string, unknown> | null }> = [];
        const pushed: Array<{ estate: string; event: string; data: unknown }> = [];
        const commands = createCommands({
          // Available at the check, refused at the publish: the moment Redis goes.
          broker: { available: () => true, publish: () => Promise.reject(failure()) } as unknown as Broker,
          bus: silent,
          store,
          push: { transaction: (fn) => t.db.transaction((trx) => fn(trx, { toEstate: async (estate: string, event: string, data: unknown) => void pushed.push({ estate, event, data }) } as never)) },
          audit: { recordIn: async (_trx, e) => (audited.push(e), {}) as never, record: async (e) => (audited.push(e), {}) as never },
          log,
        });
        return { commands, audited, pushed };
      };
      const req = { estate: 'maple', gateway: 'gw-1', device: 'gate-1', name: 'door.open', args: { door: 1 }, actor };

      it('nothing was sent: the row is failed at once (RB_ERR_CLUSTER_UNAVAILABLE), audited after the send, pushed to the estate; the caller gets the refusal', async () => {
        const { commands, audited, pushed } = service(notSent);
        const id = ulid();
        const audit = { actor: actor.id, action: 'command.send', estate: 'maple', target: 'device:gate-1', detail: { id } };
        await expect(commands.issue({ ...req, id, audit })).rejects.toMatchObject({ code: 'RB_ERR_CLUSTER_UNAVAILABLE' });
        expect(await store.get(id)).toMatchObject({ state: 'error', code: 'RB_ERR_CLUSTER_UNAVAILABLE', result: null });
        expect(audited.map((e) => e.action)).toEqual(['command.send', 'command.failed']);
        expect(audited[1]!.detail).toMatchObject({ id, code: 'RB_ERR_CLUSTER_UNAVAILABLE', message: expect.stringContaining('nothing was sent') });
        expect(pushed).toEqual([{ estate: 'maple', event: 'command:result', data: expect.objectContaining({ id, error: { code: 'RB_ERR_CLUSTER_UNAVAILABLE', message: expect.stringContaining('nothing was sent') } }) }]);
        // send() (tools, duty sync) takes the same path: rejected, and its row failed.
        const sent = commands.send({ ...req, ttlMs: 60_000 });
        await expect(sent).rejects.toMatchObject({ code: 'RB_ERR_CLUSTER_UNAVAILABLE' });
        const rows = await store.list({ estate: 'maple' });
        expect(rows.map((r) => [r.state, r.code])).toEqual([
          ['error', 'RB_ERR_CLUSTER_UNAVAILABLE'],
          ['error', 'RB_ERR_CLUSTER_UNAVAILABLE'],
        ]);
      });

      it('a publish that may still arrive (Redis did not answer in time) leaves the row sent for the answer or the expiry sweep', async () => {
        const { commands, audited, pushed } = service(mayArrive);
        const id = ulid();
        await expect(commands.issue({ ...req, id, audit: { actor: actor.id, action: 'command.send', estate: 'maple', detail: { id } } })).rejects.toMatchObject({ code: 'RB_ERR_CLUSTER_UNAVAILABLE' });
        expect(await store.get(id)).toMatchObject({ state: 'sent', code: null });
        expect(audited.map((e) => e.action)).toEqual(['command.send']);
        expect(pushed).toEqual([]);
      });
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
          audit: { recordIn: async () => ({}) as never, record: async () => ({}) as never },
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
