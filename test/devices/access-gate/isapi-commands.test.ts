import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPushServer, type PushServer } from '../../../gateway/push-server.js';
import { parseResponseStatus } from '../../../devices/access-gate/isapi-commands.js';
import { createIsapiDriver, IsapiOptions, type IsapiDriver } from '../../../devices/access-gate/isapi-driver.js';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../../devices/access-gate/simulator.js';
import { deviceRequest, digestResponse, parseAuthHeader } from '../../../devices/http-digest.js';
import { DeviceCommandError, type DraftEvent, type DriverCommand } from '../../../devices/types.js';
import { createLogger } from '../../../lib/log.js';
import type { CommandName } from '../../../protocol/index.js';

const USER = 'admin';
const PASS = 'Gate-Secret-4711';
const hash = (v: string): string => createHmac('sha256', 'salt').update(v).digest('hex');

interface Harness {
  push: PushServer;
  sim: AccessGateSimulator;
  drafts: DraftEvent[];
  logs: string[];
  driver(options?: Record<string, unknown>): IsapiDriver;
  close(): Promise<void>;
}

/** Gateway push listener + simulator (pushing to it, serving door control) + drivers on demand. */
async function harness(listen: { algorithms?: Array<'MD5' | 'SHA-256'>; pushOnOpen?: boolean } = {}): Promise<Harness> {
  const logs: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (logs.push(chunk.toString()), cb()) });
  const log = createLogger({ name: 'test', level: 'debug', destination: sink });
  const push = createPushServer({ host: '127.0.0.1', port: 0, log });
  const drafts: DraftEvent[] = [];
  let started: IsapiDriver | undefined;
  const noRoutes = { register: () => undefined, unregister: () => undefined };
  await push.start();
  const sim = createAccessGateSimulator({ target: `http://127.0.0.1:${push.address().port}/isapi/gate-1`, deviceName: 'east gate', doors: 2 });
  await sim.listen({ username: USER, password: PASS, ...listen });
  return {
    push,
    sim,
    drafts,
    logs,
    /** The first driver owns the push route (and so receives door.opened); later ones only command. */
    driver(options = {}) {
      const opts = IsapiOptions.parse({ address: sim.address(), username: USER, password: PASS, ...options });
      const device = { id: 'gate-1', driver: 'hikvision-isapi', options: opts };
      const routes = started ? noRoutes : push.routes;
      const driver = createIsapiDriver({ estate: 'e', gateway: 'g', device, options: opts, log, hash, routes, emit: async (d) => void drafts.push(d) });
      if (!started) void (started = driver).start();
      return driver;
    },
    async close() {
      await started?.stop();
      sim.stop();
      await sim.close();
      await push.stop();
    },
  };
}

let seq = 0;
function command(name: CommandName, args: Record<string, unknown> = {}, signal = new AbortController().signal): DriverCommand {
  seq += 1;
  return { id: `01J00000000000000000000${String(seq).padStart(3, '0')}`, name, args, signal };
}

async function rejection(p: Promise<unknown>): Promise<DeviceCommandError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeviceCommandError);
  return err as DeviceCommandError;
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ISAPI remote door control against the simulated controller, over real HTTP + Digest', () => {
  let h: Harness;
  let driver: IsapiDriver;
  beforeAll(async () => {
    h = await harness();
    driver = h.driver();
  });
  afterAll(() => h.close());
  afterEach(() => {
    h.sim.failNext(0);
    h.sim.setDelay(0);
  });

  it.each([
    ['door.open', 'open'],
    ['door.close', 'close'],
    ['door.alwaysOpen', 'alwaysOpen'],
    ['door.alwaysClosed', 'alwaysClose'],
  ] as const)('%s reaches the device as cmd %s on the right door', async (name, cmd) => {
    const before = h.sim.executions().length;
    await expect(driver.execute(command(name, { door: 2 }))).resolves.toEqual({ door: 2, cmd });
    const done = h.sim.executions().slice(before);
    expect(done).toEqual([{ door: 2, cmd, at: expect.any(Number) }]);
  });

  it('uses door 1 when the args name none', async () => {
    await expect(driver.execute(command('door.close'))).resolves.toEqual({ door: 1, cmd: 'close' });
    expect(h.sim.executions().at(-1)).toMatchObject({ door: 1, cmd: 'close' });
  });

  it('pushes door.opened after an open, like a real door, and the driver emits it', async () => {
    h.drafts.length = 0;
    await driver.execute(command('door.open', { door: 2 }));
    await until(() => h.drafts.some((d) => d.type === 'door.opened'));
    expect(h.drafts).toEqual([expect.objectContaining({ type: 'door.opened', data: expect.objectContaining({ door: 2 }) })]);
  });

  it('reports a device error ResponseStatus as RB_ERR_DEVICE_FAILED with its statusString', async () => {
    const before = h.sim.executions().length;
    h.sim.failNext(1);
    const err = await rejection(driver.execute(command('door.open')));
    expect(err.code).toBe('RB_ERR_DEVICE_FAILED');
    expect(err.message).toMatch(/Invalid Operation \(invalidOperation\); statusCode 4, HTTP 403/);
    expect(h.sim.executions().length).toBe(before);
    await expect(driver.execute(command('door.open'))).resolves.toEqual({ door: 1, cmd: 'open' });
  });

  it('gives RB_ERR_DEVICE_TIMEOUT within the deadline when the device is slow (it may still act)', async () => {
    const slow = h.driver({ commandTimeoutMs: 300 });
    h.sim.setDelay(800);
    const before = h.sim.executions().length;
    const started = Date.now();
    const err = await rejection(slow.execute(command('door.alwaysOpen')));
    const elapsed = Date.now() - started;
    expect(err.code).toBe('RB_ERR_DEVICE_TIMEOUT');
    expect(err.message).toMatch(/did not answer within 300 ms/);
    expect(elapsed).toBeLessThan(300 + 250);
    // The controller had read the command: it acts late. That is why a timeout means "outcome unknown".
    await until(() => h.sim.executions().length > before);
  });

  it('stops at the command signal (its expiry), and sends nothing when it has already passed', async () => {
    h.sim.setDelay(2_000);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const started = Date.now();
    const err = await rejection(driver.execute(command('door.open', {}, ctl.signal)));
    expect(err.code).toBe('RB_ERR_DEVICE_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(100 + 250);
    h.sim.setDelay(0);
    const before = h.sim.executions().length;
    const late = await rejection(driver.execute(command('door.open', {}, AbortSignal.abort())));
    expect(late).toMatchObject({ code: 'RB_ERR_DEVICE_TIMEOUT', message: expect.stringMatching(/before it was sent/) });
    await new Promise((r) => setTimeout(r, 50));
    expect(h.sim.executions().length).toBe(before);
  });

  it('names devices[].options.address when no address is configured', async () => {
    const bare = h.driver({ address: undefined });
    const err = await rejection(bare.execute(command('door.open')));
    expect(err.code).toBe('RB_ERR_DEVICE_FAILED');
    expect(err.message).toContain('devices[].options.address');
  });
});

describe('ISAPI door control: authentication, hostile answers, options', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => (s.closeAllConnections(), s.close())));

  async function fakeDevice(status: number, body: Buffer | string): Promise<string> {
    const server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/xml' }).end(body));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('refuses a wrong password with a clear RB_ERR_DEVICE_FAILED, and never logs the password', async () => {
    const h = await harness();
    try {
      const wrong = h.driver({ password: 'not-the-password' });
      const err = await rejection(wrong.execute(command('door.open')));
      expect(err.code).toBe('RB_ERR_DEVICE_FAILED');
      expect(err.message).toMatch(/refused the username\/password \(HTTP 401 after Digest auth\)/);
      const anonymous = h.driver({ username: undefined, password: undefined });
      expect((await rejection(anonymous.execute(command('door.open')))).message).toMatch(/requires authentication/);
      expect(h.sim.executions()).toEqual([]);
      await h.driver().execute(command('door.open'));
      expect(h.logs.join('')).not.toContain(PASS);
      expect(h.logs.join('')).not.toContain('not-the-password');
    } finally {
      await h.close();
    }
  });

  it('speaks SHA-256 Digest when the device prefers it, and pushes nothing when pushOnOpen is off', async () => {
    const h = await harness({ algorithms: ['SHA-256', 'MD5'], pushOnOpen: false });
    try {
      await expect(h.driver().execute(command('door.open'))).resolves.toEqual({ door: 1, cmd: 'open' });
      await new Promise((r) => setTimeout(r, 100));
      expect(h.drafts).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('simulated device: refuses a replayed Authorization and bad XML like firmware does', async () => {
    const h = await harness();
    try {
      const url = `${h.sim.address()}/ISAPI/AccessControl/RemoteControl/door/1`;
      const challenge = await fetch(url, { method: 'PUT', body: '<x/>' });
      expect(challenge.status).toBe(401);
      const p = (parseAuthHeader(challenge.headers.get('www-authenticate') ?? '') as Array<{ params: Map<string, string> }>)[0]!.params;
      const [nonce, realm, nc, cnonce] = [p.get('nonce') ?? '', p.get('realm') ?? '', '00000001', 'abcdef'];
      const uri = '/ISAPI/AccessControl/RemoteControl/door/1';
      const response = digestResponse({ algorithm: 'MD5', realm, nonce, username: USER, password: PASS, method: 'PUT', uri, qop: 'auth', nc, cnonce });
      const authorization = `Digest username="${USER}", realm="${realm}", nonce="${nonce}", uri="${uri}", qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
      const body = '<RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>';
      expect((await fetch(url, { method: 'PUT', body, headers: { authorization } })).status).toBe(200);
      expect((await fetch(url, { method: 'PUT', body, headers: { authorization } })).status).toBe(401);
      const bad = await deviceRequest({ method: 'PUT', url, body: '<RemoteControlDoor><cmd>explode', username: USER, password: PASS, deadlineMs: 2_000 });
      expect(bad.status).toBe(400);
      expect(parseResponseStatus(bad.body)).toEqual({ statusCode: 5, statusString: 'Invalid XML Format', subStatusCode: 'badXmlFormat' });
      expect(h.sim.executions()).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  it('aborts an answer over the size cap, and refuses a 200 without a ResponseStatus', async () => {
    const h = await harness();
    try {
      const huge = h.driver({ address: await fakeDevice(200, Buffer.alloc(200 * 1024, 0x20)) });
      const err = await rejection(huge.execute(command('door.open')));
      expect(err.code).toBe('RB_ERR_DEVICE_FAILED');
      expect(err.message).toMatch(/larger than 65536 bytes; aborted/);
      const odd = h.driver({ address: await fakeDevice(200, '<html>hello</html>') });
      expect((await rejection(odd.execute(command('door.open')))).message).toBe('device answered HTTP 200 without an ISAPI ResponseStatus');
      const json = h.driver({ address: await fakeDevice(200, '{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}') });
      await expect(json.execute(command('door.close'))).resolves.toEqual({ door: 1, cmd: 'close' });
    } finally {
      await h.close();
    }
  });

  it('validates the command options', () => {
    const ok = IsapiOptions.parse({ address: 'http://192.168.1.10', username: 'admin', password: 'x' });
    expect(ok).toMatchObject({ address: 'http://192.168.1.10', commandTimeoutMs: 5_000 });
    for (const bad of [
      { address: 'ftp://192.168.1.10' },
      { address: 'http://admin:pw@192.168.1.10' },
      { address: 'http://192.168.1.10/?x=1' },
      { address: 'not a url' },
      { password: 'x' },
      { username: '管理员' },
      { commandTimeoutMs: 0 },
    ]) {
      expect(IsapiOptions.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
