import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { redisPing } from '../../hub/platform/redis-ping.js';
import { freePort } from './ports.js';

/**
 * A real redis-server (Debian package `redis-server`, 7.0) for tests: its own temp dir, a generated
 * config, one free port of 127.0.0.1, no password (nothing else can reach loopback). Missing binary:
 * the start FAILS, never skips (DESIGN.md, "What works means here").
 *
 * `persistence: true` keeps an append-only file with `appendfsync always`, so what Redis answered OK
 * to survives a kill -9; then `restart()` comes back "with its data" and `restart({ empty: true })`
 * comes back with nothing (the data dir wiped first): the two Redis failures issue 18 must survive.
 * Without persistence Redis writes nothing to disk and every restart is empty.
 */
export interface Redis {
  /** The same port across restarts (so a client configured with it reconnects). */
  readonly port: number;
  readonly dir: string;
  /** `redis://[:password@]127.0.0.1:{port}` */
  readonly url: string;
  /** The PID of the running server; undefined while it is down. */
  pid(): number | undefined;
  /** SIGKILL by PID and wait for the exit: no shutdown save, clients see a reset. */
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT by PID: Redis alive but not answering (a hung node). */
  pause(): void;
  resume(): void;
  /** Start it again on the same port (stops it first if it runs); `empty` wipes the data dir before. */
  restart(opts?: { empty?: boolean }): Promise<void>;
  /** Stop by PID (SIGTERM, SIGKILL after 10 s) and remove the dir. Idempotent. */
  stop(): Promise<void>;
  outputTail(): string;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];
export const missingRedis = (): string => 'redis-server (Debian package "redis-server") is not installed: run scripts/ensure-deps.sh';
const START_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 10_000;

function binary(): string {
  for (const c of CANDIDATES) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error(missingRedis());
}

/** `password`: `requirepass` (the url carries it). */
export async function startRedis(opts: { persistence?: boolean; password?: string } = {}): Promise<Redis> {
  const bin = binary();
  const dir = await mkdtemp(join(tmpdir(), 'rb-redis-'));
  const data = join(dir, 'data');
  await mkdir(data);
  const port = await freePort();
  const conf = join(dir, 'redis.conf');
  // Redis 7.0 config directives (redis.conf of the Debian package documents each one).
  const lines = [
    `port ${port}`,
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${data}`,
    'logfile ""', // stdout: kept in outputTail()
    'save ""', // no RDB snapshots: the AOF (when on) is the only persistence, written per command
    ...(opts.persistence ? ['appendonly yes', 'appendfsync always'] : ['appendonly no']),
    'io-threads 1',
    ...(opts.password ? [`requirepass ${opts.password}`] : []),
    '',
  ];
  await writeFile(conf, lines.join('\n'));

  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  let running = false;

  const url = `redis://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`;
  const launch = async (): Promise<void> => {
    const proc = spawn(bin, [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    running = true;
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    exit = new Promise<void>((r) => proc.once('exit', () => ((running = false), r())));
    const deadline = Date.now() + START_TIMEOUT_MS;
    // PONG, not an open port: while Redis loads its AOF it accepts connections but answers -LOADING.
    while ((await redisPing(url, 500)) !== true) {
      if (!running || Date.now() > deadline) {
        if (running) proc.kill('SIGKILL');
        await exit;
        throw new Error(`redis-server did not answer PING on ${port}:\n${tail.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (!running || !child?.pid) return;
    const pid = child.pid;
    process.kill(pid, sig);
    const timer = setTimeout(() => running && process.kill(pid, 'SIGKILL'), EXIT_TIMEOUT_MS);
    await exit;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    port,
    dir,
    url,
    pid: () => (running ? child?.pid : undefined),
    kill9: () => signal('SIGKILL'),
    pause() {
      if (running && child?.pid) process.kill(child.pid, 'SIGSTOP');
    },
    resume() {
      if (running && child?.pid) process.kill(child.pid, 'SIGCONT');
    },
    async restart(o = {}) {
      if (running && child?.pid) process.kill(child.pid, 'SIGCONT'); // a paused server cannot exit
      await signal('SIGTERM');
      if (o.empty) {
        await rm(data, { recursive: true, force: true });
        await mkdir(data);
      }
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running && child?.pid) process.kill(child.pid, 'SIGCONT');
      await signal('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    outputTail: () => tail.join('\n'),
  };
}

/**
 * One command to the Redis at `port` on a fresh connection; resolves with the raw reply (`+OK`,
 * `$5\r\nvalue`, `$-1` for nil…) up to the first complete reply. For tests that check what a
 * server holds without a client library.
 */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = '';
    socket.once('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const first = buf.indexOf('\r\n');
      if (first < 0) return;
      const head = buf.slice(0, first);
      const len = head.startsWith('$') ? Number(head.slice(1)) : -1;
      if (len >= 0 && buf.length < first + 2 + len + 2) return; // bulk string not complete yet
      socket.destroy();
      resolve(len >= 0 ? `${head}\r\n${buf.slice(first + 2, first + 2 + len)}` : head);
    });
    socket.once('error', reject);
  });
}
