import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
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

const asRoot = process.getuid?.() === 0;
/** The command line that runs `bin` as a user PostgreSQL accepts. */
function asPostgres(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/**
 * `bin`: the directory of `initdb` and `postgres` (default PG_BIN, `RB_PG_BIN` overrides).
 * `durable`: keep PostgreSQL's own defaults (fsync, synchronous_commit, full_page_writes on), as a
 * production server runs, for benchmarks; tests run without them.
 */
export async function startPostgres(opts: { bin?: string; durable?: boolean } = {}): Promise<Postgres> {
  const bin = opts.bin ?? PG_BIN;
  const initdb = binary(bin, 'initdb');
  const postgres = binary(bin, 'postgres');
  const dir = await mkdtemp(join(tmpdir(), 'rb-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  try {
    const [cmd, args] = asPostgres(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`initdb failed: ${e.stderr?.toString() || e.message}`);
  }

  const port = await freePort();
  const [cmd, args] = asPostgres(postgres, [
    '-D', data,
    '-p', String(port),
    '-k', dir, // the unix socket in the temp dir, not /var/run/postgresql
    '-c', 'listen_addresses=127.0.0.1',
    ...(opts.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    '-c', 'max_connections=100',
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const url = (name = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${name}`;

  /** The postmaster's own PID (first line of postmaster.pid): `runuser` is only its parent. */
  const serverPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pid = serverPid();
    if (!exited) {
      // SIGINT = "fast shutdown": roll back open transactions, end the sessions, exit.
      if (pid) process.kill(pid, 'SIGINT');
      else child.kill('SIGINT');
      const timer = setTimeout(() => {
        if (pid) process.kill(pid, 'SIGKILL');
        child.kill('SIGKILL');
      }, EXIT_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

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
      break;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms:\n${tail.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

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
    outputTail: () => tail.join('\n'),
  };
}

/**
 * Vitest wiring: one PostgreSQL per test file, started in beforeAll, stopped in afterAll. The
 * getter throws the start failure (binaries missing: MISSING_POSTGRES), so every test that uses it
 * FAILS with it; nothing is skipped.
 */
export function usePostgres(): () => Postgres {
  let server: Postgres | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      server = await startPostgres();
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
