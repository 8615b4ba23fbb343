import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

/**
 * A real RTSP camera for the video relay's tests: GStreamer's RTSP server (Debian's python3-gi,
 * through /usr/bin/python3, not a pyenv one) serving one live H.264 stream (640×360, 25 fps, a key
 * frame every 12) at `rtsp://127.0.0.1:PORT/s`, optionally behind RTSP Basic auth. It reports how
 * many RTSP clients are connected, so a test can check that nobody pulls a stream nobody watches.
 * (The ONVIF simulator's own RTSP server is devices/onvif-camera's; this one is the relay's fixture.)
 */
export interface RtspCamera {
  port: number;
  uri: string;
  pid: number;
  /** RTSP clients connected now. */
  clients(): number;
  /** Resolves once `clients()` satisfies `ok`. */
  waitClients(ok: (n: number) => boolean, timeoutMs?: number): Promise<void>;
  /** SIGSTOP / SIGCONT: the camera keeps its TCP connections but sends nothing (a stall mid-stream). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./rtsp-camera.py', import.meta.url));

export async function startRtspCamera(opts: { username?: string; password?: string; bitrateKbit?: number; pattern?: 'ball' | 'snow' } = {}): Promise<RtspCamera> {
  const port = await freePort();
  const args = [SCRIPT, String(port), String(opts.bitrateKbit ?? 800), opts.pattern ?? 'ball'];
  if (opts.username) args.push(opts.username, opts.password ?? '');
  const proc: ChildProcess = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let clients = 0;
  let stderr = '';
  let out = '';
  const waiters = new Set<() => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl).trim();
      out = out.slice(nl + 1);
      if (line === 'ready') ready();
      const m = /^clients (\d+)$/.exec(line);
      if (m) clients = Number(m[1]);
      for (const w of [...waiters]) w();
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const timeout = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await Promise.race([isReady, exited]);
  clearTimeout(timeout);
  if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the RTSP camera did not start: ${stderr}`);
  return {
    port,
    uri: `rtsp://127.0.0.1:${port}/s`,
    pid: proc.pid!,
    clients: () => clients,
    waitClients(ok, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!ok(clients)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`RTSP clients stayed at ${clients}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    pause: () => void proc.kill('SIGSTOP'),
    resume: () => void proc.kill('SIGCONT'),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Process ids of this process's children whose program is `name` (from /proc), e.g. every ffmpeg the gateway runs. */
export function childrenNamed(name: string, parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (comm === name && ppid === parent) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** True while `pid` exists at all (a zombie too: gone means exited and reaped). */
export function processExists(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}
