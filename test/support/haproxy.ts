import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from './ports.js';

/**
 * A real HAProxy (Debian package `haproxy`, 2.6) for tests, in master-worker mode in the foreground
 * (`haproxy -W -db -f cfg`): the master's PID is the child's PID, SIGUSR2 to it reloads the config
 * (a new worker takes the listeners, the old one finishes its connections), SIGTERM stops master and
 * workers. The config is the test's own text (ports chosen by the test); `haproxyPreamble()` gives a
 * `global` + `defaults` that keep it quiet and bounded. Missing binary: the start FAILS, never skips.
 */
export interface Haproxy {
  readonly pid: number;
  readonly dir: string;
  /** Path of the config file (rewritten by reload()). */
  readonly cfg: string;
  /** Write `config` (when given) and reload by SIGUSR2 to the master; resolves on "Loading success". */
  reload(config?: string): Promise<void>;
  /** SIGKILL by PID (the worker outlives the master for a moment, then exits on its own). */
  kill9(): Promise<void>;
  /** SIGTERM by PID (SIGKILL after 10 s), remove the dir. Idempotent. */
  stop(): Promise<void>;
  outputTail(): string;
}

const CANDIDATES = ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'];
export const missingHaproxy = (): string => 'haproxy (Debian package "haproxy") is not installed: run scripts/ensure-deps.sh';
const START_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 10_000;
/** What the master prints once a (re)loaded config runs in a new worker. */
const LOADED = 'Loading success.';
/** What the master prints when it handles SIGUSR2. */
const RELOADING = 'Reloading HAProxy';

/** `global` and `defaults` for a test config: `mode` tcp or http, short timeouts, no syslog. */
export function haproxyPreamble(mode: 'tcp' | 'http' = 'tcp'): string {
  return [
    'global',
    '  maxconn 2000',
    '  nbthread 1',
    'defaults',
    `  mode ${mode}`,
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '',
  ].join('\n');
}

function binary(): string {
  for (const c of CANDIDATES) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error(missingHaproxy());
}

/** Start HAProxy on `config`; resolve once it loaded it and each of `waitPorts` accepts connections. */
export async function startHaproxy(config: string, opts: { waitPorts?: number[] } = {}): Promise<Haproxy> {
  const bin = binary();
  const dir = await mkdtemp(join(tmpdir(), 'rb-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  await writeFile(cfg, config);
  let output = '';
  let loads = 0;
  let reloads = 0;
  const waiters: Array<() => void> = [];
  const child: ChildProcess = spawn(bin, ['-W', '-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-8000);
    loads += text.split(LOADED).length - 1;
    reloads += text.split(RELOADING).length - 1;
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let running = true;
  const exit = new Promise<void>((r) => child.once('exit', () => ((running = false), r())));
  child.once('exit', () => waiters.splice(0).forEach((w) => w()));

  /** Wait until the master printed LOADED `n` times in all. */
  const loaded = async (n: number): Promise<void> => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (loads < n) {
      if (!running) throw new Error(`haproxy exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`haproxy did not load its config:\n${output}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };

  let stopped = false;
  const stop = async (sig: NodeJS.Signals): Promise<void> => {
    if (running) {
      child.kill(sig);
      const timer = setTimeout(() => running && child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
  };
  try {
    await loaded(1);
    for (const p of opts.waitPorts ?? []) await waitForPort(p, START_TIMEOUT_MS, () => running);
  } catch (err) {
    await stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    pid: child.pid!,
    dir,
    cfg,
    async reload(next) {
      if (next !== undefined) await writeFile(cfg, next);
      const want = loads + 1;
      const seen = reloads;
      // The master prints LOADED a moment before its loop handles signals: a SIGUSR2 sent in that
      // window is dropped (observed with 2.6.12), so send it again until the master says it reloads.
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (reloads === seen) {
        if (!running || Date.now() > deadline) throw new Error(`haproxy did not reload:\n${output}`);
        child.kill('SIGUSR2');
        await new Promise((r) => setTimeout(r, 300));
      }
      await loaded(want);
    },
    kill9: () => stop('SIGKILL'),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    outputTail: () => output,
  };
}
