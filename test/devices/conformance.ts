/**
 * Driver conformance suite: every driver runs it against its own simulator
 * (`describeDriver(name, harness)` in test/devices/<kind>/conformance.test.ts).
 *
 * It checks, over real sockets: the driver starts and reports the device online after first contact;
 * every event type of the profile can be produced by the simulator and comes out of the driver as a
 * draft that validates against the protocol schema; every command of the profile reaches the device
 * and yields a result; the device going offline and coming back shows in health(); bad input from the
 * device is refused without an event and the driver keeps working.
 */
import type { CommandName, EventType } from '../../protocol/index.js';
import type { DraftEvent, DriverFactory } from '../../devices/types.js';

export interface DriverUnderTest {
  /** Driver options pointing at the simulator (address, credentials, push path...). */
  options: Record<string, unknown>;
  /** Make the simulated device produce one event of this type (push it, or raise it for polling). */
  produce(type: EventType): Promise<void>;
  /** Arguments to use for a command in the command test. */
  commandArgs?(name: CommandName): Record<string, unknown>;
  /** How many times the simulated device carried out this command so far. */
  executed(name: CommandName): number;
  /** Stop answering / pushing (the device is unplugged), and come back. */
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  /** Send or serve something broken (garbage body, malformed XML...). */
  sendGarbage(): Promise<void>;
  teardown(): Promise<void>;
}

export interface DriverHarness {
  factory: DriverFactory;
  /** Extra options merged into the validated options (short offline thresholds for tests). */
  fastOptions?: Record<string, unknown>;
  /**
   * Start a simulator for device `deviceId`. `pushBase` is the gateway's push listener
   * (http://127.0.0.1:port) for drivers whose devices push.
   */
  setup(ctx: { deviceId: string; pushBase: string }): Promise<DriverUnderTest>;
  /** Longest the suite waits for an event or an online/offline change, ms (default 5000). */
  waitMs?: number;
}

export type Emitted = DraftEvent;

export { describeDriver } from './conformance-suite.js';

/**
 * For push devices whose only sign of life is a heartbeat: beat now and every `everyMs` while
 * online; offline = the beats stop, so the driver's `offlineAfterMs` runs out.
 */
export function heartbeats(beat: () => Promise<unknown>, everyMs = 100): Pick<DriverUnderTest, 'goOnline' | 'goOffline'> & { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const once = (): void => void beat().catch(() => undefined);
  const stop = (): void => clearInterval(timer);
  return {
    async goOnline() {
      stop();
      once();
      timer = setInterval(once, everyMs);
    },
    goOffline: async () => stop(),
    stop,
  };
}

/** A simulator's post must have been taken (200), or the event cannot come out of the driver. */
export function expectTaken(answer: { status: number; body: string }): void {
  if (answer.status !== 200) throw new Error(`driver answered ${answer.status}: ${answer.body}`);
}
