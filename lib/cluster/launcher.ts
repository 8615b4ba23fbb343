import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import type PG from 'pg';
import { lazyRequire } from '../lazy.js';

/** The demo's ports and waits are used without PostgreSQL too: its client loads when first needed. */
const pg = lazyRequire<typeof PG>('pg');

/**
 * Local services started from their Debian binaries, for `red-butler demo --cluster`: PostgreSQL 15
 * (initdb in a directory of the caller's, run as `postgres` through runuser when root), redis-server
 * and HAProxy, each on a port of 127.0.0.1, its output in a log file of that directory, and stopped
 * by PID. Missing binaries throw with the package to install (scripts/ensure-deps.sh).
 */
export interface LocalService {
  readonly name: string;
  /** PIDs this service runs as (runuser and the postmaster for PostgreSQL), for a report and a check. */
  pids(): number[];
  /** Whether it has exited (on its own or stopped). */
  exited(): boolean;
  /** Stop by PID (the service's orderly signal, SIGKILL after 10 s) and wait for the exit. Idempotent. */
  stop(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (another process may take it before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected listen address ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Resolve once something accepts TCP connections on 127.0.0.1:`port`; throw after `ms` or once `alive()` is false. */
export async function waitForPort(port: number, ms = 15_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (!alive() || Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first of `candidates` that is an executable file; throws naming the Debian package otherwise. */
export function findBinary(candidates: readonly string[], pkg: string): string {
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error(`${pkg} (Debian package "${pkg}") is not installed: no ${candidates.join(' or ')}; run scripts/ensure-deps.sh`);
}

const EXIT_TIMEOUT_MS = 10_000;

/** Spawn with output to `logFile`; `exit` resolves when the process has exited. */
function launch(cmd: string, args: string[], logFile: string): { child: ChildProcess; exit: Promise<void>; exited: () => boolean } {
  const out = createWriteStream(logFile, { flags: 'a' });
  // Its own process group: a Ctrl+C in the terminal reaches the caller, which stops the services
  // after what uses them (PostgreSQL last), instead of every process at once.
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  let done = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((done = true), r())));
  child.once('error', () => ((done = true), undefined));
  return { child, exit, exited: () => done };
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** Send `sig` to `pid`, SIGKILL after 10 s, and wait for `exit`. */
async function stopBy(pid: number | undefined, sig: NodeJS.Signals, exit: Promise<void>, exited: () => boolean, alsoKill: () => void = () => undefined): Promise<void> {
  if (exited()) return;
  signal(pid, sig);
  const timer = setTimeout(() => {
    signal(pid, 'SIGKILL');
    alsoKill();
  }, EXIT_TIMEOUT_MS);
  await exit;
  clearTimeout(timer);
}

export const PG_BIN = process.env.RB_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface LocalPostgres extends LocalService {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:{port}/{name}` */
  url(name?: string): string;
  /** CREATE DATABASE `name` (`[a-z0-9_]`) and return its url. */
  createDatabase(name: string): Promise<string>;
}

/** Whether this process is root: PostgreSQL then runs as `postgres` through runuser. */
export const runsAsRoot = (): boolean => process.getuid?.() === 0;

/** The command line that runs a PostgreSQL binary as a user it accepts (`runuser -u postgres --` as root). */
export function asPostgresUser(bin: string, args: string[]): [string, string[]] {
  return runsAsRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/**
 * `initdb` of a cluster in `{dir}/data` (trust authentication, UTF8, C locale); as root `dir` is
 * given to postgres first (its parents must let postgres through: a dir of its own under /tmp).
 * Returns the data directory.
 */
export function initPostgres(dir: string, bin = PG_BIN): string {
  const initdb = findBinary([join(bin, 'initdb')], 'postgresql');
  if (runsAsRoot()) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const data = join(dir, 'data');
  try {
    const [cmd, args] = asPostgresUser(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`initdb failed: ${e.stderr?.toString() || e.message}`);
  }
  return data;
}

/** The postmaster's own PID (first line of `{data}/postmaster.pid`; runuser is only its parent), or undefined. */
export function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL 15 in `dir` (initPostgres there: listening on 127.0.0.1 only, its unix socket in `dir`),
 * as `postgres` when root. Stopped by a fast shutdown (SIGINT) to the postmaster's PID.
 */
export async function startLocalPostgres(opts: { dir: string; port: number; bin?: string; startTimeoutMs?: number; production?: boolean }): Promise<LocalPostgres> {
  const bin = opts.bin ?? PG_BIN;
  const postgres = findBinary([join(bin, 'postgres')], 'postgresql');
  const data = initPostgres(opts.dir, bin);
  // A demo database: fsync off (nothing here must survive a power cut). `production` (benchmarks):
  // PostgreSQL's own defaults, fsync and synchronous_commit on.
  const durability = opts.production ? [] : ['-c', 'fsync=off'];
  const [cmd, args] = asPostgresUser(postgres, ['-D', data, '-p', String(opts.port), '-k', opts.dir, '-c', 'listen_addresses=127.0.0.1', ...durability, '-c', 'max_connections=100']);
  const p = launch(cmd, args, join(opts.dir, 'postgres.log'));
  const url = (name = 'postgres'): string => `postgres://postgres@127.0.0.1:${opts.port}/${name}`;
  const postmaster = (): number | undefined => postmasterPid(data);
  let stopped = false;
  const service: LocalPostgres = {
    name: 'postgres',
    port: opts.port,
    url,
    pids: () => [...new Set([p.child.pid, postmaster()].filter((x): x is number => x !== undefined))],
    exited: p.exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGINT = fast shutdown: open transactions roll back, sessions end, the postmaster exits.
      const pm = postmaster();
      await stopBy(pm ?? p.child.pid, 'SIGINT', p.exit, p.exited, () => p.child.kill('SIGKILL'));
    },
    async createDatabase(name) {
      if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`bad database name ${name}`);
      const client = new (pg().Client)({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    const client = new (pg().Client)({ connectionString: url() });
    try {
      await client.connect();
      await client.end();
      return service;
    } catch {
      await client.end().catch(() => undefined);
      if (p.exited() || Date.now() > deadline) {
        await service.stop();
        throw new Error(`postgres did not start (log: ${join(opts.dir, 'postgres.log')})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** redis-server on 127.0.0.1:`port`, nothing on disk (the cluster's Redis holds only what can be rebuilt). */
export async function startLocalRedis(opts: { dir: string; port: number }): Promise<LocalService & { readonly url: string }> {
  const bin = findBinary(['/usr/bin/redis-server', '/usr/local/bin/redis-server'], 'redis-server');
  const p = launch(bin, ['--port', String(opts.port), '--bind', '127.0.0.1', '--dir', opts.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], join(opts.dir, 'redis.log'));
  let stopped = false;
  const service = {
    name: 'redis',
    url: `redis://127.0.0.1:${opts.port}`,
    pids: () => (p.child.pid === undefined ? [] : [p.child.pid]),
    exited: p.exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopBy(p.child.pid, 'SIGTERM', p.exit, p.exited);
    },
  };
  try {
    await waitForPort(opts.port, 15_000, () => !p.exited());
  } catch (err) {
    await service.stop();
    throw err;
  }
  return service;
}

/** HAProxy in the foreground (`haproxy -db -f cfg`) on a config the caller wrote (lib/cluster/haproxy-config.ts). */
export async function startLocalHaproxy(opts: { dir: string; config: string; waitPorts: number[] }): Promise<LocalService> {
  const bin = findBinary(['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'], 'haproxy');
  const cfg = join(opts.dir, 'haproxy.cfg');
  writeFileSync(cfg, opts.config);
  const p = launch(bin, ['-db', '-f', cfg], join(opts.dir, 'haproxy.log'));
  let stopped = false;
  const service: LocalService = {
    name: 'haproxy',
    pids: () => (p.child.pid === undefined ? [] : [p.child.pid]),
    exited: p.exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGUSR1 would wait for connections to end (soft stop); SIGTERM closes them now.
      await stopBy(p.child.pid, 'SIGTERM', p.exit, p.exited);
    },
  };
  try {
    for (const port of opts.waitPorts) await waitForPort(port, 15_000, () => !p.exited());
  } catch (err) {
    await service.stop();
    throw new Error(`haproxy did not start (log: ${join(opts.dir, 'haproxy.log')}): ${(err as Error).message}`);
  }
  return service;
}

/**
 * `show stat` on HAProxy's stats socket (`stats socket PATH` in `global`): each server's status
 * (`UP`, `DOWN`, `UP 1/2`…) by `backend/server`. Empty when the socket does not answer.
 */
export function haproxyServerStatus(socketPath: string, timeoutMs = 2_000): Promise<Map<string, string>> {
  return new Promise((resolve) => {
    const out = new Map<string, string>();
    let text = '';
    const s = connect(socketPath, () => s.write('show stat\n'));
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      const lines = text.split('\n');
      const header = (lines[0] ?? '').replace(/^# /, '').split(',');
      const [px, sv, st] = ['pxname', 'svname', 'status'].map((k) => header.indexOf(k));
      if (px! >= 0 && sv! >= 0 && st! >= 0) {
        for (const line of lines.slice(1)) {
          const f = line.split(',');
          if (f.length > st! && f[sv!] !== 'FRONTEND' && f[sv!] !== 'BACKEND') out.set(`${f[px!]}/${f[sv!]}`, f[st!]!);
        }
      }
      resolve(out);
    };
    const timer = setTimeout(done, timeoutMs);
    s.on('data', (d: Buffer) => (text += d.toString('utf8')));
    s.on('end', done);
    s.on('error', done);
  });
}
