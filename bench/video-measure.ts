/**
 * What the video benchmark (bench/video.ts) reads: CPU and memory of a process and of the processes
 * below it from /proc, the whole machine's busy share, and viewers that count what arrives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { VideoQuality } from '../protocol/video.js';

/** /proc/{pid}/stat fields from 3 (state) on, or undefined once the process is gone. */
function stat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Resident memory of a process now, MiB (0 once gone). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Proportional memory of a process now, MiB: its private pages plus its share of pages it shares
 * (libavcodec's code among N ffmpeg processes), so N of them add up to what they take together.
 */
export function pssMb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Living processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = stat(Number(d));
    if (f && Number(f[1]) === pid) out.push(Number(d));
  }
  return out;
}

/**
 * CPU seconds of a process (`self`: utime + stime) and of its children (`kids`: the living ones'
 * utime + stime, plus cutime + cstime of those already reaped), with the children's RSS.
 */
export interface TreeSample { self: number; kids: Map<number, number>; reaped: number; kidsRssMb: number; kidsPssMb: number; kidCount: number }

export function sampleTree(pid: number): TreeSample {
  const f = stat(pid);
  const kids = new Map<number, number>();
  let kidsRssMb = 0;
  let kidsPssMb = 0;
  for (const c of childrenOf(pid)) {
    const cf = stat(c);
    if (!cf) continue;
    kids.set(c, (Number(cf[11]) + Number(cf[12])) / 100);
    kidsRssMb += rssMb(c);
    kidsPssMb += pssMb(c);
  }
  return {
    self: f ? (Number(f[11]) + Number(f[12])) / 100 : NaN,
    reaped: f ? (Number(f[13]) + Number(f[14])) / 100 : NaN,
    kids, kidsRssMb, kidsPssMb, kidCount: kids.size,
  };
}

/** CPU seconds used between two samples: the process itself, and its children (new ones from zero, reaped ones through cutime). */
export function treeDelta(a: TreeSample, b: TreeSample): { self: number; kids: number } {
  let kids = b.reaped - a.reaped;
  for (const [pid, c] of b.kids) kids += c - (a.kids.get(pid) ?? 0);
  // A child reaped inside the window is in b.reaped with its whole life: take off what it had at a.
  for (const [pid, c] of a.kids) if (!b.kids.has(pid)) kids -= c;
  return { self: b.self - a.self, kids };
}

/** The whole machine's CPU counters (/proc/stat, ticks): busy and total. */
export function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((x, y) => x + y, 0);
  const idle = cpu[3]! + cpu[4]!; // idle + iowait
  return { busy: total - idle, total };
}

/**
 * A viewer (docs/video.md, "The viewer link"): `watch`, then counts what arrives: `ready`, the time
 * of each media segment and the bytes. It keeps no segment (a long run would hold gigabytes).
 */
export class Viewer {
  readonly openedAt = performance.now();
  ws: WebSocket;
  ready = false;
  error: string | undefined;
  firstMediaAt: number | undefined;
  /** Media segments' arrival times (performance.now()) and bytes since reset(). */
  arrivals: number[] = [];
  bytes = 0;
  /** The last arrival before reset(), so the first gap of a window is counted too. */
  lastBefore: number | undefined;
  closed = false;

  constructor(httpUrl: string, watch: { token: string; estate: string; device: string; quality: VideoQuality }) {
    this.ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/api/v1/video/live`);
    this.ws.on('open', () => this.ws.send(JSON.stringify({ t: 'watch', ...watch })));
    let first = true;
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        const msg = JSON.parse(String(data)) as { t: string; code?: string; message?: string };
        if (msg.t === 'ready') this.ready = true;
        else if (msg.t === 'error') this.error = `${msg.code}: ${msg.message}`;
        return;
      }
      if (first) return void (first = false); // the init segment
      const now = performance.now();
      this.firstMediaAt ??= now;
      this.arrivals.push(now);
      this.bytes += data.length;
    });
    this.ws.on('error', (err) => void (this.error ??= err.message));
    this.ws.on('close', () => void (this.closed = true));
  }

  /** Start a window: forget what came so far. */
  reset(): void {
    this.lastBefore = this.arrivals.at(-1);
    this.arrivals = [];
    this.bytes = 0;
  }

  /** Gaps between media segments in the window, ms. */
  gaps(): number[] {
    const ts = this.lastBefore === undefined ? this.arrivals : [this.lastBefore, ...this.arrivals];
    return ts.slice(1).map((t, i) => t - ts[i]!);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The sum of a Prometheus metric's series (0 when it has none yet). */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
