import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { asPostgresUser, initPostgres, postmasterPid } from '../../lib/cluster/launcher.js';
import { freePort } from './ports.js';

/**
 * A real PostgreSQL 15 (Debian package `postgresql`) for tests: `initdb` in its own temp dir, one
 * server on a free port of 127.0.0.1 only, trust authentication (nothing else can reach it), no
 * fsync (a test database need not survive a power cut). Tests that need it FAIL, not skip, when
 * the binaries are missing, so a machine without PostgreSQL never reports a green run that tested
 * nothing (DESIGN.md, "What works means here").
 *
 * PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not permitted"),
 * so as root every binary runs through `runuser -u postgres --`, and the temp dir belongs to postgres.
 */
export interface Postgres {
  readonly port: number;
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:{port}/{name}` */
  url(name?: string): string;
  /** CREATE DATABASE `name` (`[a-z0-9_]`) and return its url. */
  createDatabase(name: string): Promise<string>;
  /** SIGSTOP / SIGCONT the postmaster and every backend by PID: a hung database (connections stay open). */
  pause(): void;
  resume(): void;
  /** SIGKILL the postmaster and every backend by PID; the data dir stays, for restart(). */
  kill9(): Promise<void>;
  /** Start the server again on the same port and data (fast shutdown first when it runs). */
  restart(): Promise<void>;
  /** Stop the server by its PID (fast shutdown, SIGKILL after 10 s) and remove the dir. Idempotent. */
  stop(): Promise<void>;
  outputTail(): string;
}

export const PG_BIN = process.env.RB_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const missingPostgres = (bin = PG_BIN): string =>
  `PostgreSQL 15 (Debian package "postgresql") is not installed: no ${bin}/postgres; run scripts/ensure-deps.sh`;

const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

function binary(bin: string, name: 'initdb' | 'postgres'): string {
  const path = join(bin, name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(missingPostgres(bin));
  }
  return path;
}

/** PIDs whose parent is `ppid` (from /proc: field 4 of /proc/PID/stat, after the `(comm)`). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}
/** Running, not a zombie (an orphan may wait for a reaper that never comes in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
/** The command line that runs `bin` as a user PostgreSQL accepts (lib/cluster/launcher.ts, shared with `demo --cluster`). */
const asPostgres = asPostgresUser;

export interface PostgresOptions {
  /** The directory of `initdb` and `postgres` (default PG_BIN, `RB_PG_BIN` overrides). */
  bin?: string;
  /**
   * Keep `synchronous_commit` on, so a commit that returned survives a kill -9 of the server. The
   * default (off) answers a commit before its WAL is written and loses the last ~600 ms of commits in
   * a crash (https://www.postgresql.org/docs/15/wal-async-commit.html); observed: a fresh hub's
   * migrations gone after kill9() + restart(). `fsync=off` stays: it matters only when the OS crashes.
   */
  durable?: boolean;
  /** PostgreSQL's own defaults (fsync, synchronous_commit, full_page_writes on), as a production server runs: benchmarks. */
  production?: boolean;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<Postgres> {
  const bin = opts.bin ?? PG_BIN;
  binary(bin, 'initdb');
  const postgres = binary(bin, 'postgres');
  const dir = await mkdtemp(join(tmpdir(), 'rb-pg-'));
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  let data: string;
  try {
    data = initPostgres(dir, bin);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const port = await freePort();
  const [cmd, args] = asPostgres(postgres, [
    '-D', data,
    '-p', String(port),
    '-k', dir, // the unix socket in the temp dir, not /var/run/postgresql
    '-c', 'listen_addresses=127.0.0.1',
    ...(opts.production ? [] : ['-c', 'fsync=off', '-c', `synchronous_commit=${opts.durable ? 'on' : 'off'}`, '-c', 'full_page_writes=off']),
    '-c', 'max_connections=100',
  ]);
  let child: ChildProcess;
  let exited = false;
  let exit: Promise<void> = Promise.resolve();
  const spawnServer = (): void => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    exited = false;
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    exit = new Promise<void>((r) => c.once('exit', () => ((exited = true), r())));
  };
  spawnServer();
  const url = (name = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${name}`;

  /** The postmaster's own PID (first line of postmaster.pid): `runuser` is only its parent. */
  const serverPid = (): number | undefined => postmasterPid(data);
  /**
   * The postmaster and its backends (each connection is a child process), and `runuser` above them
   * when there is one: runuser stops itself when its child stops (it mirrors job control) and waits
   * for a SIGCONT of its own, so a resume or a kill that skips it leaves it stopped for ever.
   */
  const everyPid = (): number[] => {
    const pm = serverPid();
    if (pm === undefined || exited) return [];
    return [...(child.pid !== undefined && child.pid !== pm ? [child.pid] : []), pm, ...childrenOf(pm)];
  };
  /** Fast shutdown by PID (SIGKILL after 10 s); the data dir stays. */
  const shutdown = async (): Promise<void> => {
    if (exited) return;
    for (const pid of everyPid()) signal(pid, 'SIGCONT'); // a paused server cannot shut down
    const pid = serverPid();
    // SIGINT = "fast shutdown": roll back open transactions, end the sessions, exit.
    if (pid) signal(pid, 'SIGINT');
    else child.kill('SIGINT');
    const timer = setTimeout(() => {
      if (pid) signal(pid, 'SIGKILL');
      child.kill('SIGKILL');
    }, EXIT_TIMEOUT_MS);
    await exit;
    clearTimeout(timer);
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await shutdown();
    await rm(dir, { recursive: true, force: true });
  };

  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited) {
        await stop();
        throw new Error(`postgres exited during start:\n${tail.join('\n')}`);
      }
      const client = new pg.Client({ connectionString: url() });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms:\n${tail.join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await waitReady();

  return {
    port,
    dir,
    url,
    async createDatabase(name) {
      if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`bad database name ${name}`);
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
    pause() {
      for (const pid of everyPid()) signal(pid, 'SIGSTOP');
    },
    resume() {
      for (const pid of everyPid()) signal(pid, 'SIGCONT');
    },
    async kill9() {
      const pids = everyPid();
      for (const pid of pids) signal(pid, 'SIGCONT');
      // Not runuser: it must live to reap the postmaster, whose unreaped PID would read as "another
      // postmaster is running" to the next start (a container's PID 1 may never reap orphans).
      for (const pid of pids) if (pid !== child.pid) signal(pid, 'SIGKILL');
      await exit;
      // Orphaned backends would keep the shared memory and refuse the next start: wait for them too.
      while (pids.some(alive)) await new Promise((r) => setTimeout(r, 20));
    },
    async restart() {
      await shutdown();
      spawnServer();
      await waitReady();
    },
    outputTail: () => tail.join('\n'),
  };
}

/**
 * Vitest wiring: one PostgreSQL per test file, started in beforeAll, stopped in afterAll. The
 * getter throws the start failure (binaries missing: MISSING_POSTGRES), so every test that uses it
 * FAILS with it; nothing is skipped.
 */
export function usePostgres(opts: PostgresOptions = {}): () => Postgres {
  let server: Postgres | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      server = await startPostgres(opts);
    } catch (err) {
      failure = err;
    }
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server) return server;
    throw failure ?? new Error('postgres is not started yet: call the getter inside a test or hook');
  };
}
