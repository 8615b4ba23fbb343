import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../bin/red-butler.js', import.meta.url));

export { waitForPort } from '../test/support/ports.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak and current RSS of a process from /proc, in MiB. */
export function procRss(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(/(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? 0);
  return { rssMb: kb('VmRSS:') / 1024, peakMb: kb('VmHWM:') / 1024 };
}

/** CPU time (user + system) a process has used so far, in seconds (/proc/{pid}/stat, 100 ticks/s). */
export function procCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: fields 14 and 15
}

/** Pid of this process's child whose command name is `comm` (e.g. influxd), if any. */
export function childPid(comm: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (name === comm && ppid === process.pid) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * CPU a set of processes uses over a window: call start() when the window opens, stop() when it
 * closes; cores = CPU seconds / wall seconds.
 */
export function cpuMeter(pids: Array<number | undefined>): { start(): void; stop(): number[] } {
  let t0 = 0;
  let c0: number[] = [];
  const read = (): number[] => pids.map((p) => (p === undefined ? NaN : procCpuS(p)));
  return {
    start() {
      t0 = performance.now();
      c0 = read();
    },
    stop() {
      const wall = (performance.now() - t0) / 1000;
      return read().map((c, i) => (c - c0[i]!) / wall);
    },
  };
}

/** /proc/{pid}/stat fields from 3 (state) on, or undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process and of every process below it: its own utime + stime, plus cutime +
 * cstime (children it has waited for, so backends that exit inside a window still count), plus the
 * utime + stime of each living descendant, by pid. A server such as PostgreSQL (the postmaster and
 * one backend per connection) is measured as a whole.
 */
export function treeCpu(root: number): Map<number, number> {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (!f) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
  }
  const out = new Map<number, number>();
  const rootStat = statFields(root);
  if (!rootStat) return out;
  out.set(root, (Number(rootStat[11]) + Number(rootStat[12]) + Number(rootStat[13]) + Number(rootStat[14])) / 100);
  const walk = (pid: number): void => {
    for (const c of children.get(pid) ?? []) {
      const f = statFields(c);
      if (f) out.set(c, (Number(f[11]) + Number(f[12])) / 100);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** Like cpuMeter, for a whole process tree (treeCpu): cores over the window. */
export function treeCpuMeter(root: number): { start(): void; stop(): number } {
  let t0 = 0;
  let c0 = new Map<number, number>();
  return {
    start() {
      t0 = performance.now();
      c0 = treeCpu(root);
    },
    stop() {
      const wall = (performance.now() - t0) / 1000;
      let cpu = 0;
      // A descendant gone since start() is in the root's cutime by now (whole life), so its share
      // at start() is taken off; a new one counts from zero.
      const c1 = treeCpu(root);
      for (const [pid, c] of c1) cpu += c - (c0.get(pid) ?? 0);
      for (const [pid, c] of c0) if (!c1.has(pid)) cpu -= c;
      return cpu / wall;
    },
  };
}

export function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`red-butler ${args.join(' ')} exited ${code}`))));
  });
}

/** `cli`: another build's bin/red-butler.js (bench/hub-baseline.ts), default this tree's. */
export function startCliProcess(args: string[], env?: NodeJS.ProcessEnv, nodeArgs: string[] = [], cli = CLI): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'], ...(env ? { env: { ...process.env, ...env } } : {}) });
}

export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

/** Print rows as an aligned text table. */
export function table(rows: Array<Record<string, string | number>>): string {
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i]!)).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c] ?? ''))))].join('\n');
}

/** The p-th percentile (nearest rank) of xs; 0 for an empty list. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
