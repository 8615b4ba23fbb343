import { connect } from 'node:net';

/** A RESP array of bulk strings: how a client sends a command (https://redis.io/docs/reference/protocol-spec/). */
function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * One PING to the Redis at `url` (`redis://[[user]:password@]host[:port][/db]`) over a fresh TCP
 * connection: `true` when it answers `+PONG` within `timeoutMs`, otherwise why not (refused, timed
 * out, `-LOADING` while it reads its AOF, `-NOAUTH`…). The hub's readiness check only (issue 18):
 * no client library, no pool, nothing kept open, so a Redis that went away cannot wedge it.
 * With a password, AUTH goes first and its `+OK` is read before the PING's answer.
 */
export function redisPing(url: string, timeoutMs: number): Promise<true | string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve(`not a redis URL: ${url}`);
  }
  if (u.protocol !== 'redis:') return Promise.resolve(`not a redis:// URL: ${u.protocol}`);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = u.port ? Number(u.port) : 6379;
  const password = decodeURIComponent(u.password);
  const user = decodeURIComponent(u.username);
  const expected: string[] = [];
  let out = '';
  if (password) {
    out += user ? command('AUTH', user, password) : command('AUTH', password);
    expected.push('+OK');
  }
  out += command('PING');
  expected.push('+PONG');

  return new Promise((resolve) => {
    let settled = false;
    let buf = '';
    const socket = connect({ host, port });
    const done = (result: true | string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no answer to PING within ${timeoutMs} ms`), timeoutMs);
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(out));
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      // Simple strings and errors are one line each; the answers come in order.
      for (let end = buf.indexOf('\r\n'); end >= 0; end = buf.indexOf('\r\n')) {
        const line = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (line !== expected.shift()) return done(line.startsWith('-') ? `redis answered ${line.slice(1)}` : `unexpected answer ${JSON.stringify(line.slice(0, 80))}`);
        if (expected.length === 0) return done(true);
      }
      if (buf.length > 4096) done('unexpected answer (too long)');
    });
    socket.on('error', (err) => done(`cannot reach redis at ${host}:${port}: ${err.message}`));
    socket.on('close', () => done('redis closed the connection'));
  });
}
