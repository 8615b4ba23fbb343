import { createHmac } from 'node:crypto';
import { createPushServer, type PushServer } from '../../../gateway/push-server.js';
import { AnprOptions, createAnprDriver, type AnprDriver } from '../../../devices/barrier-gate/anpr-driver.js';
import type { DraftEvent, DriverCommand } from '../../../devices/types.js';
import { silentLogger } from '../../../lib/log.js';
import type { CommandName } from '../../../protocol/index.js';

/** A push listener on 127.0.0.1 with one hikvision-anpr driver behind it; events land in `drafts`. */
export interface Harness {
  server: PushServer;
  driver: AnprDriver;
  drafts: DraftEvent[];
  fail: { emit: boolean };
  url(path: string): string;
  stop(): Promise<void>;
}

type Options = Record<string, unknown>;

/** `options` may be computed once the push listener's URL is known (to start a simulator that posts there). */
export async function harness(
  opts: Options | ((url: (path: string) => string) => Promise<Options>) = {},
  device = 'barrier-1',
): Promise<Harness> {
  const log = silentLogger();
  const server = createPushServer({ host: '127.0.0.1', port: 0, log });
  await server.start();
  const { port } = server.address();
  const url = (path: string): string => `http://127.0.0.1:${port}${path}`;
  const options = typeof opts === 'function' ? await opts(url) : opts;
  const drafts: DraftEvent[] = [];
  const fail = { emit: false };
  const driver = createAnprDriver({
    estate: 'estate-1',
    gateway: 'gw-1',
    device: { id: device, driver: 'hikvision-anpr', options },
    options: AnprOptions.parse(options),
    log,
    hash: (v) => createHmac('sha256', 'salt').update(v).digest('hex'),
    routes: server.routes,
    emit: async (draft) => {
      if (fail.emit) throw new Error('outbox full');
      drafts.push(draft);
    },
  });
  await driver.start();
  return {
    server,
    driver,
    drafts,
    fail,
    url,
    async stop() {
      await driver.stop();
      await server.stop();
    },
  };
}

/** Poll until `check` holds, at most `ms`; throws with `what` otherwise. */
export async function waitFor(check: () => boolean, what: string, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let n = 0;
export function command(name: CommandName, args: Record<string, unknown> = {}, signal = new AbortController().signal): DriverCommand {
  n += 1;
  return { id: `01ARZ3NDEKTSV4RRFFQ69G5F${String(n).padStart(2, '0')}`, name, args, signal };
}

/** The envelope the gateway would build around a draft; the hub's validator must accept it. */
export function envelope(d: DraftEvent) {
  const base = { v: 1, id: '01ARZ3NDEKTSV4RRFFQ69G5FAV', seq: 1, estate: 'estate-1', gateway: 'gw-1', device: 'barrier-1' };
  return { ...base, ts: d.ts, type: d.type, data: d.data };
}
