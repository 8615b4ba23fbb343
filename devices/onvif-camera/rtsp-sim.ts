import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * The camera simulator's real RTSP stream (docs/video.md, "The simulator's stream"): rtsp-sim.py,
 * GStreamer's RTSP server through Debian's python3-gi, as a child process: /main 1280×720 and /sub
 * 640×360 H.264 with the machine-readable clock of protocol/video-clock.ts in every frame. It reports
 * each RTSP client and each media it builds, so a test can check that nobody pulls a stream nobody
 * watches.
 */
export interface RtspSimulatorOptions {
  /** 0 or absent: the server binds a free port itself (no race with another process). */
  port?: number | undefined;
  host?: string | undefined;
  /** Frames a second (default 25); a key frame every half second. */
  fps?: number | undefined;
  /** Size and bit rate (kbit/s, asked of the encoder) of /main (default 1280×720, 2000) and /sub (640×360, 500). */
  main?: RtspStreamShape | undefined;
  sub?: RtspStreamShape | undefined;
  /** Pad each stream to its bit rate with filler data (a camera in CBR mode); default off. */
  cbr?: boolean | undefined;
  /** Leave out the machine-readable clock row (no Python on the streaming threads); default false. */
  noClockRow?: boolean | undefined;
  /** Do not reap vanished clients' sessions every 2 s (GStreamer's own 60 s timeout still applies); default false. */
  noSessionCleanup?: boolean | undefined;
  /** When given, RTSP asks for this login (`auth`: digest, the default, or basic). */
  username?: string | undefined;
  password?: string | undefined;
  auth?: 'digest' | 'basic' | undefined;
  /** How long the server may take to come up (default 10 s). */
  startTimeoutMs?: number | undefined;
  /** The Python and its flags (default Debian's /usr/bin/python3); a test passes `-S` to hide python3-gi. */
  python?: readonly string[] | undefined;
}

export interface RtspStreamShape {
  width: number;
  height: number;
  kbps: number;
}

export interface RtspSimulator {
  readonly port: number;
  /** rtsp://host:port/<path>, e.g. url('main'); no credentials in it. */
  url(path: string): string;
  /** RTSP clients connected now. */
  sessions(): number;
  /** RTSP clients ever connected. */
  everOpened(): number;
  /** Mount paths whose pipeline runs now ("/main", "/sub"). */
  running(): string[];
  /** The server's PID (stopped by it). */
  readonly pid: number;
  /** SIGTERM by PID, SIGKILL after 3 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Debian packages that make rtsp-sim.py work (scripts/ensure-deps.sh installs them). */
export const RTSP_SIM_PACKAGES = 'python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-x';

/** Debian's Python, not one first on PATH (pyenv and the like have no python3-gi). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** The server cannot run here: a package is missing (the message names them) or it would not start. */
export class RtspSimulatorUnavailable extends Error {
  override name = 'RtspSimulatorUnavailable';
}

/** rtsp-sim.py beside this file (source) or in the source tree beside dist/. */
export function rtspSimScript(): string {
  const here = new URL('./rtsp-sim.py', import.meta.url);
  const candidates = [fileURLToPath(here), fileURLToPath(new URL('../../../devices/onvif-camera/rtsp-sim.py', import.meta.url))];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new RtspSimulatorUnavailable(`rtsp-sim.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

interface SimEvent {
  ev: string;
  port?: number;
  path?: string;
  message?: string;
}

export async function startRtspSimulator(o: RtspSimulatorOptions = {}): Promise<RtspSimulator> {
  const host = o.host ?? '127.0.0.1';
  const [python = SYSTEM_PYTHON, ...flags] = o.python ?? [SYSTEM_PYTHON];
  if (!existsSync(python)) throw new RtspSimulatorUnavailable(`${python} is missing: install the Debian packages ${RTSP_SIM_PACKAGES}`);
  const args = [...flags, rtspSimScript(), '--host', host, '--port', String(o.port ?? 0), '--fps', String(o.fps ?? 25), '--watch-stdin'];
  for (const q of ['main', 'sub'] as const) {
    const shape = o[q];
    if (shape) args.push(`--${q}-size`, `${shape.width}x${shape.height}`, `--${q}-kbps`, String(shape.kbps));
  }
  if (o.cbr) args.push('--cbr');
  if (o.noClockRow) args.push('--no-clock-row');
  if (o.noSessionCleanup) args.push('--no-session-cleanup');
  if (o.username !== undefined) args.push('--username', o.username, '--auth', o.auth ?? 'digest');
  // The password goes through the environment, not the command line (ps shows arguments to everyone).
  const env = { ...process.env, RB_RTSP_SIM_PASSWORD: o.password ?? '' };
  const proc = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  proc.stdin!.on('error', () => undefined);
  // 'close': exited and its output read to the end (the last line may say why it could not start).
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  let open = 0;
  let ever = 0;
  const running = new Set<string>();
  let onReady: ((e: SimEvent) => void) | undefined;
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let e: SimEvent;
    try {
      e = JSON.parse(line) as SimEvent;
    } catch {
      return;
    }
    if (e.ev === 'client-open') [open, ever] = [open + 1, ever + 1];
    else if (e.ev === 'client-close') open = Math.max(0, open - 1);
    else if (e.ev === 'media-prepared' && e.path) running.add(e.path);
    else if (e.ev === 'media-unprepared' && e.path) running.delete(e.path);
    else if (e.ev === 'ready' || e.ev === 'error') onReady?.(e);
  });

  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };

  const timeoutMs = o.startTimeoutMs ?? 10_000;
  const ready = await new Promise<SimEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RtspSimulatorUnavailable(`the RTSP simulator did not start within ${timeoutMs} ms: ${stderr.trim().slice(-500) || 'no output'}`)), timeoutMs);
    onReady = (e) => (clearTimeout(timer), resolve(e));
    proc.once('error', (err) => (clearTimeout(timer), reject(new RtspSimulatorUnavailable(`cannot run ${python}: ${err.message}`))));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new RtspSimulatorUnavailable(`the RTSP simulator exited at start (${stderr.trim().slice(-500) || `code ${proc.exitCode}`}); it needs the Debian packages ${RTSP_SIM_PACKAGES}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  if (ready.ev !== 'ready' || !ready.port) {
    await stop();
    throw new RtspSimulatorUnavailable(`the RTSP simulator cannot start: ${ready.message ?? 'no port'}`);
  }
  const port = ready.port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    pid: proc.pid!,
    url: (path) => `rtsp://${hostPart}:${port}/${path.replace(/^\/+/, '')}`,
    sessions: () => open,
    everOpened: () => ever,
    running: () => [...running].sort(),
    stop,
  };
}
