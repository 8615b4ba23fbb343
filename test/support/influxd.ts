import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.js';

/**
 * A real `influxd` 1.x (Debian package `influxdb`) for tests: own temp dir, own ports, quiet.
 * Tests that need it must FAIL, not skip, when it is missing, so a machine without it never
 * reports a green run that tested nothing.
 */
export interface Influxd {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:41234` (no database path). */
  readonly url: string;
  readonly port: number;
  /** Temp dir holding the config file and the meta, data and wal dirs. */
  readonly dir: string;
  /** Kill the process (if running) and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGTERM and wait for exit; the data dir is kept so `startProcess()` can resume. */
  stopProcess(): Promise<void>;
  /** Start again on the same ports and data dir; resolves once `/ping` answers. */
  startProcess(): Promise<void>;
  /** SIGKILL and wait for exit: a crash, not a shutdown. */
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT: the process keeps its sockets but answers nothing (a hung server). */
  pause(): void;
  resume(): void;
  /** Last lines the process wrote to stdout/stderr, for error messages. */
  outputTail(): string;
}

const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;
const TAIL_LINES = 40;

export const MISSING_INFLUXD =
  'influxd (Debian package "influxdb") is not installed or not on PATH: run scripts/ensure-deps.sh';

/** Absolute path of the influxd binary (`RB_INFLUXD` overrides); throws MISSING_INFLUXD if absent. */
export function influxdBinary(): string {
  const override = process.env.RB_INFLUXD;
  const candidates = override
    ? [override]
    : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'influxd'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next PATH entry
    }
  }
  throw new Error(MISSING_INFLUXD);
}

function config(dir: string, httpPort: number, rpcPort: number): string {
  const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid TOML basic string
  return `# Written by test/support/influxd.ts
reporting-enabled = false
bind-address = ${q(`127.0.0.1:${rpcPort}`)}

[meta]
  dir = ${q(join(dir, 'meta'))}
  logging-enabled = false

[data]
  dir = ${q(join(dir, 'data'))}
  wal-dir = ${q(join(dir, 'wal'))}
  # 0s = fsync the WAL before answering 204, so an acknowledged write survives a crash.
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  # No _internal database: less disk work, and nothing but the test's own data in the dir.
  store-enabled = false

[http]
  enabled = true
  bind-address = ${q(`127.0.0.1:${httpPort}`)}
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "error"
  suppress-logo = true

[continuous_queries]
  log-enabled = false

[subscriber]
  enabled = false
`;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start a fresh influxd and wait until it answers `GET /ping` with 204. */
export async function startInfluxd(): Promise<Influxd> {
  const bin = influxdBinary();
  const dir = await mkdtemp(join(tmpdir(), 'rb-influxd-'));
  const [port, rpcPort] = [await freePort(), await freePort()];
  const file = join(dir, 'influxd.conf');
  await writeFile(file, config(dir, port, rpcPort));
  const url = `http://127.0.0.1:${port}`;

  let child: ChildProcess | undefined;
  let tail: string[] = [];
  // If the test process dies without afterAll, do not leave an influxd behind.
  const onExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', onExit);

  const keep = (chunk: Buffer): void => {
    tail = tail.concat(chunk.toString('utf8').split('\n').filter(Boolean)).slice(-TAIL_LINES);
  };
  const outputTail = (): string => tail.join('\n');

  async function startProcess(): Promise<void> {
    if (child && !exited(child)) throw new Error('influxd is already running');
    tail = [];
    const proc = spawn(bin, ['-config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const failed = await Promise.race([spawnError, sleep(50).then(() => undefined)]);
      if (failed) throw new Error(`cannot spawn ${bin}: ${failed.message}`);
      if (exited(proc)) {
        throw new Error(`influxd exited (code ${proc.exitCode}, signal ${proc.signalCode}) before answering /ping:\n${outputTail()}`);
      }
      try {
        const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 204) return;
      } catch {
        // not listening yet
      }
    }
    proc.kill('SIGKILL');
    await waitExit(proc, EXIT_TIMEOUT_MS);
    throw new Error(`influxd did not answer ${url}/ping within ${START_TIMEOUT_MS} ms:\n${outputTail()}`);
  }

  async function signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc || exited(proc)) return;
    proc.kill('SIGCONT'); // a paused process cannot act on SIGTERM
    proc.kill(signal);
    if (await waitExit(proc, EXIT_TIMEOUT_MS)) return;
    proc.kill('SIGKILL');
    if (!(await waitExit(proc, EXIT_TIMEOUT_MS))) throw new Error(`influxd pid ${proc.pid} did not exit`);
  }

  let stopped = false;
  const handle: Influxd = {
    url,
    port,
    dir,
    stopProcess: () => signalAndWait('SIGTERM'),
    startProcess,
    kill9: () => signalAndWait('SIGKILL'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    outputTail,
    async stop() {
      if (stopped) return;
      stopped = true;
      await signalAndWait('SIGKILL');
      process.removeListener('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await startProcess();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
