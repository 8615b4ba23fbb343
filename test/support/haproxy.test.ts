import { createServer, connect, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { haproxyPreamble, startHaproxy, type Haproxy } from './haproxy.js';
import { freePort } from './ports.js';

/**
 * A TCP server that answers every connection with `name` and closes. HAProxy may reset a connection
 * it is done with (a reload, a stop): that ECONNRESET on the server's socket is expected, not a fault.
 */
async function namer(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.end(name);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, server };
}

/** What comes back through 127.0.0.1:`port` (an error code when the connection fails). */
function through(port: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect(port, '127.0.0.1');
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const config = (front: number, back: number): string =>
  `${haproxyPreamble('tcp')}frontend f\n  bind 127.0.0.1:${front}\n  default_backend b\nbackend b\n  server s1 127.0.0.1:${back}\n`;

describe('test/support/haproxy: a real haproxy', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('forwards, reloads a new config by SIGUSR2, and stops by its PID', async () => {
    const a = await namer('A');
    const b = await namer('B');
    cleanup.push(async () => void a.server.close(), async () => void b.server.close());
    const front = await freePort();
    const hx: Haproxy = await startHaproxy(config(front, a.port), { waitPorts: [front] });
    cleanup.push(() => hx.stop());
    expect(await through(front)).toBe('A');
    await hx.reload(config(front, b.port));
    expect(await through(front)).toBe('B');
    await hx.stop();
    expect(() => process.kill(hx.pid, 0)).toThrow();
    expect(await through(front)).toBe('ECONNREFUSED');
  });

  it('fails to start on a broken config, with haproxy\'s own words', async () => {
    await expect(startHaproxy(`${haproxyPreamble()}frontend f\n  bind 127.0.0.1:1\n  no_such_keyword\n`)).rejects.toThrow(/haproxy exited:[\s\S]*no_such_keyword/);
  });
});
