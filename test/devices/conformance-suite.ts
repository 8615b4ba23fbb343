import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { createPushServer, type PushServer } from '../../gateway/push-server.js';
import type { DraftEvent, Driver } from '../../devices/types.js';
import { silentLogger } from '../../lib/log.js';
import { parseCommandArgs, validateEvent, type EventType } from '../../protocol/index.js';
import type { DriverHarness, DriverUnderTest } from './conformance.js';

/**
 * The driver conformance suite (interface and intent: conformance.ts). One push listener, one fake
 * gateway context and one driver per `describeDriver`, shared by its tests in order: the checks are
 * about a driver that keeps running, so state carries over (offline and back, garbage then an event).
 */
const SALT = 'conformance-salt';
const ESTATE = 'estate-conf';
const GATEWAY = 'gw-conf';
/** Quiet period after garbage in which no draft may appear. */
const GARBAGE_QUIET_MS = 250;

export const conformanceHash = (v: string): string => createHmac('sha256', SALT).update(v, 'utf8').digest('hex').slice(0, 32);

/** Poll `check` every 10 ms until it is true or `ms` passed; false on timeout (never hangs). */
async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** The envelope the gateway would stamp around a draft, as a plain value for `validateEvent`. */
function stamp(draft: DraftEvent, device: string, seq: number): unknown {
  const { type, ts, data } = draft;
  return { v: 1, id: ulid(ts), seq, ts, estate: ESTATE, gateway: GATEWAY, device, type, data };
}

export function describeDriver(name: string, harness: DriverHarness): void {
  const { factory } = harness;
  const waitMs = harness.waitMs ?? 5_000;
  const deviceId = `conf-${factory.name.replace(/[^a-z0-9-]/g, '-')}`.slice(0, 64);

  describe(`driver conformance: ${name}`, () => {
    let server: PushServer | undefined;
    let under: DriverUnderTest | undefined;
    let driver: Driver | undefined;
    const drafts: DraftEvent[] = [];

    const sut = (): { driver: Driver; under: DriverUnderTest } => {
      if (!driver || !under) throw new Error('conformance setup did not complete');
      return { driver, under };
    };
    /** Produce one event of `type` and wait for a new draft of it; undefined when none came. */
    async function produceAndCatch(type: EventType): Promise<DraftEvent | undefined> {
      const from = drafts.length;
      await sut().under.produce(type);
      let found: DraftEvent | undefined;
      await waitFor(() => (found = drafts.slice(from).find((d) => d.type === type)) !== undefined, waitMs);
      return found;
    }

    beforeAll(async () => {
      const log = silentLogger();
      server = createPushServer({ host: '127.0.0.1', port: 0, log });
      await server.start();
      const { port } = server.address();
      under = await harness.setup({ deviceId, pushBase: `http://127.0.0.1:${port}` });
      const raw = { ...under.options, ...harness.fastOptions };
      const options: unknown = factory.options.parse(raw);
      driver = factory.create({
        estate: ESTATE,
        gateway: GATEWAY,
        device: { id: deviceId, driver: factory.name, options: raw },
        options: options as Record<string, unknown>,
        log,
        hash: conformanceHash,
        emit: async (draft) => {
          drafts.push(draft);
        },
        routes: server.routes,
      });
      await driver.start();
    });

    afterAll(async () => {
      // Reverse order of setup; each step runs even when an earlier one failed.
      await driver?.stop().catch(() => undefined);
      await under?.teardown().catch(() => undefined);
      await server?.stop();
    });

    it('starts and reports the device online after first contact', async () => {
      expect(await waitFor(() => sut().driver.health().online, waitMs)).toBe(true);
      expect(sut().driver.health().lastSeen).toBeTypeOf('number');
    });

    for (const type of factory.profile.events) {
      it(`emits a valid ${type} draft when the device produces one`, async () => {
        const draft = await produceAndCatch(type);
        expect(draft, `no ${type} draft within ${waitMs} ms`).toBeDefined();
        const checked = validateEvent(stamp(draft as DraftEvent, deviceId, drafts.length));
        expect(checked.ok ? 'ok' : checked.message).toBe('ok');
      });
    }

    for (const command of factory.profile.commands) {
      it(`carries out ${command} on the device exactly once`, async () => {
        const { driver: d, under: u } = sut();
        expect(d.execute, 'profile lists commands but the driver has no execute()').toBeTypeOf('function');
        const parsed = parseCommandArgs(command, u.commandArgs?.(command) ?? {});
        if (!parsed.ok) throw new Error(`harness args for ${command}: ${parsed.message}`);
        const before = u.executed(command);
        await d.execute?.({ id: ulid(), name: command, args: parsed.args, signal: AbortSignal.timeout(5_000) });
        expect(u.executed(command)).toBe(before + 1);
      });
    }

    it('reports the device offline when it goes silent, and online when it is back', async () => {
      const { driver: d, under: u } = sut();
      await u.goOffline();
      expect(await waitFor(() => !d.health().online, waitMs), 'still online after goOffline').toBe(true);
      await u.goOnline();
      expect(await waitFor(() => d.health().online, waitMs), 'not online again after goOnline').toBe(true);
    });

    it('refuses garbage without an event and keeps working', async () => {
      const from = drafts.length;
      await sut().under.sendGarbage();
      await new Promise((r) => setTimeout(r, GARBAGE_QUIET_MS));
      expect(drafts.slice(from)).toEqual([]);
      const type = factory.profile.events[0];
      if (type === undefined) return;
      expect(await produceAndCatch(type), 'no event after the garbage').toBeDefined();
    });
  });
}
