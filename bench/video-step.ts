/**
 * One step of the video benchmark (bench/video.ts): N distinct cameras at one quality, watched through
 * the real gateway and hub, beside the same N streams pulled by bare ffmpeg (the gateway's own
 * command, output thrown away) straight from the simulator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ffmpegArgs } from '../gateway/video/puller.js';
import type { VideoQuality } from '../protocol/video.js';
import { percentile, procCpuS, sleep } from './lib.js';
import { machineTicks, metric, pssMb, rssMb, sampleTree, treeDelta, Viewer } from './video-measure.js';
import { ESTATE, log, type Rig } from './video-setup.js';

export interface StepOptions { seconds: number; warmup: number; keyintS: number; baseline: boolean }

/** Cores (CPU seconds per wall second) the gateways and hub used while nobody watched, and their RSS. */
export interface Idle { gwCores: number; hubCores: number; gwRssMb: number; hubRssMb: number }

export interface Step {
  quality: VideoQuality;
  streams: number;
  window_s: number;
  /** Bare ffmpeg remux (the gateway's command, output to /dev/null), cores in all and RSS per process. */
  baseline?: { ffmpeg_cores: number; ffmpeg_rss_mb: number; ffmpeg_pss_mb: number; sim_cores: number };
  /** Through the gateways and hub: cores over the window (idle taken off for gateways and hub). */
  gw_node_cores: number;
  gw_ffmpeg_cores: number;
  hub_cores: number;
  sim_cores: number;
  viewers_cores: number;
  /** The whole machine's busy share over the window (every core, every process, ours or not). */
  machine_busy: number;
  /** Gateway processes (one per 64 cameras) and their RSS together. */
  gateways: number;
  gw_rss_mb: number;
  /** Each ffmpeg child's RSS and PSS (its share of pages shared with the other ffmpegs), the mean. */
  gw_ffmpeg_rss_mb: number;
  gw_ffmpeg_pss_mb: number;
  hub_rss_mb: number;
  /** Bytes a second each viewer received (media segments), the mean over the viewers. */
  bytes_per_s: number;
  segments_per_s: number;
  gap_p50_ms: number;
  gap_p99_ms: number;
  gap_max_ms: number;
  start_p50_ms: number;
  start_max_ms: number;
  skipped: number;
  dropped: number;
  errors: string[];
  /** ok, or why this step is past what the box relays. */
  verdict: string;
}

/*
 * FIRST_ALONE: every camera of the bench is the same simulator stream, which GStreamer's RTSP server
 * builds at its first client and shares. Clients arriving together while it was being built made it
 * die or hang now and then (the camera side, not what is measured); a real camera's encoder runs all
 * along. So each step starts one client first and the others once its stream runs. Many clients
 * leaving at once hung it too (32 sub-stream clients did, every time): they leave 50 ms apart.
 */
const STAGGER_MS = 50;

/** The verdict of a step whose simulator sent nothing: the camera's fault, not the relay's; the run stops. */
export const SIM_HUNG = 'the RTSP simulator died or hung';

const cpu = (pid: number): number => {
  try {
    return procCpuS(pid);
  } catch {
    return NaN;
  }
};

/**
 * Wait until the gateways pull nothing, the simulator has no RTSP client and has torn its media down,
 * then a second: the previous step is gone. (A client arriving while GStreamer's RTSP server tore a
 * shared media down once hung the simulator; so did a client that stayed on while others left.)
 */
async function quiet(rig: Rig): Promise<void> {
  const end = Date.now() + 20_000;
  const pulling = async (): Promise<number> => (await Promise.all(rig.gateways.map((g) => metric(g.metrics, 'rb_gateway_video_streams').catch(() => 1)))).reduce((a, b) => a + b, 0);
  while (rig.sim.sessions() > 0 || rig.sim.running().length > 0 || (await pulling()) > 0) {
    if (Date.now() > end) return log(`still ${rig.sim.sessions()} RTSP sessions, media ${rig.sim.running().join(' ') || 'none'} after 20 s; going on`);
    await sleep(200);
  }
  await sleep(1000);
}

/** N bare ffmpeg processes remuxing the same RTSP stream as the gateway would, straight from the simulator. */
async function baselineStep(rig: Rig, quality: VideoQuality, n: number, o: StepOptions): Promise<Step['baseline']> {
  const procs: ChildProcess[] = [];
  const pull = (): number => procs.push(spawn('ffmpeg', ffmpegArgs(rig.sim.url(quality), 20_000), { stdio: ['ignore', 'ignore', 'inherit'] }));
  try {
    // The first client builds the simulator's stream, then the others join it (FIRST_ALONE).
    pull();
    const end = Date.now() + 20_000;
    while (!rig.sim.running().includes(`/${quality}`) && Date.now() < end) await sleep(100);
    await sleep(500);
    while (procs.length < n) pull();
    while (rig.sim.sessions() < n && Date.now() < end) await sleep(100);
    await sleep(o.warmup * 1000);
    const t0 = performance.now();
    const c0 = procs.map((p) => cpu(p.pid!));
    const s0 = cpu(rig.sim.pid);
    await sleep(o.seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const c1 = procs.map((p) => cpu(p.pid!));
    const rss = procs.reduce((a, p) => a + rssMb(p.pid!), 0) / n;
    const pss = procs.reduce((a, p) => a + pssMb(p.pid!), 0) / n;
    const dead = procs.filter((p) => p.exitCode !== null).length;
    if (dead) log(`baseline ${quality} ×${n}: ${dead} ffmpeg exited early`);
    return { ffmpeg_cores: c1.reduce((a, c, i) => a + c - c0[i]!, 0) / wall, ffmpeg_rss_mb: rss, ffmpeg_pss_mb: pss, sim_cores: (cpu(rig.sim.pid) - s0) / wall };
  } finally {
    // One at a time (STAGGER): many RTSP clients leaving at once hung the simulator.
    for (const p of procs) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const timer = setTimeout(() => p.kill('SIGKILL'), 3_000);
      p.once('exit', () => clearTimeout(timer));
      p.kill('SIGTERM');
      await sleep(STAGGER_MS);
    }
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
  }
}

export async function runStep(rig: Rig, quality: VideoQuality, n: number, idle: Idle, o: StepOptions): Promise<Step> {
  await quiet(rig);
  const baseline = o.baseline ? await baselineStep(rig, quality, n, o) : undefined;
  if (baseline) await quiet(rig);

  const watch = (device: string): Viewer => new Viewer(rig.hub.http, { token: rig.token, estate: ESTATE, device, quality });
  const viewers = [watch(rig.devices[0]!)];
  try {
    // The first viewer's stream builds the simulator's, then the others join it (FIRST_ALONE).
    const first = Date.now() + 20_000;
    while (viewers[0]!.firstMediaAt === undefined && viewers[0]!.error === undefined && !viewers[0]!.closed && Date.now() < first) await sleep(100);
    viewers.push(...rig.devices.slice(1, n).map(watch));
    // Every viewer has its first media segment (or an error), then the warm-up.
    const end = Date.now() + 30_000;
    while (viewers.some((v) => v.firstMediaAt === undefined && v.error === undefined && !v.closed) && Date.now() < end) await sleep(100);
    const starts = viewers.filter((v) => v.firstMediaAt !== undefined).map((v) => v.firstMediaAt! - v.openedAt);
    await sleep(o.warmup * 1000);

    const [gwPids, hubPid, simPid] = [rig.gateways.map((g) => g.proc.pid!), rig.hub.proc.pid!, rig.sim.pid];
    const read = async () => ({
      wall: performance.now(), gw: gwPids.map(sampleTree), hub: cpu(hubPid), sim: cpu(simPid), machine: machineTicks(),
      me: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      skipped: await metric(rig.hub.metrics, 'rb_video_segments_skipped_total'),
      dropped: (await Promise.all(rig.gateways.map((g) => metric(g.metrics, 'rb_gateway_video_segments_dropped_total')))).reduce((x, y) => x + y, 0),
    });
    const a = await read();
    for (const v of viewers) v.reset();
    await sleep(o.seconds * 1000);
    const b = await read();
    const wall = (b.wall - a.wall) / 1000;
    const gw = a.gw.map((g, i) => treeDelta(g, b.gw[i]!)).reduce((x, y) => ({ self: x.self + y.self, kids: x.kids + y.kids }));
    const kids = b.gw.reduce((x, g) => ({ n: x.n + g.kidCount, rss: x.rss + g.kidsRssMb, pss: x.pss + g.kidsPssMb }), { n: 0, rss: 0, pss: 0 });
    const gaps = viewers.flatMap((v) => v.gaps());
    const live = viewers.filter((v) => v.firstMediaAt !== undefined);
    const errors = [...new Set(viewers.map((v) => v.error).filter((e): e is string => e !== undefined))];
    const step: Step = {
      quality, streams: n, window_s: wall, baseline,
      gw_node_cores: gw.self / wall - idle.gwCores,
      gw_ffmpeg_cores: gw.kids / wall,
      hub_cores: (b.hub - a.hub) / wall - idle.hubCores,
      sim_cores: (b.sim - a.sim) / wall,
      viewers_cores: (b.me - a.me) / wall,
      machine_busy: (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total),
      gateways: gwPids.length,
      gw_rss_mb: gwPids.reduce((x, p) => x + rssMb(p), 0),
      gw_ffmpeg_rss_mb: kids.n ? kids.rss / kids.n : 0,
      gw_ffmpeg_pss_mb: kids.n ? kids.pss / kids.n : 0,
      hub_rss_mb: rssMb(hubPid),
      bytes_per_s: viewers.reduce((s, v) => s + v.bytes, 0) / n / wall,
      segments_per_s: viewers.reduce((s, v) => s + v.arrivals.length, 0) / n / wall,
      gap_p50_ms: percentile(gaps, 50), gap_p99_ms: percentile(gaps, 99), gap_max_ms: gaps.length ? Math.max(...gaps) : NaN,
      start_p50_ms: percentile(starts, 50), start_max_ms: starts.length ? Math.max(...starts) : NaN,
      skipped: b.skipped - a.skipped, dropped: b.dropped - a.dropped, errors,
      verdict: 'ok',
    };
    step.verdict = verdict(step, live.length, o);
    return step;
  } finally {
    // One at a time (STAGGER): the hub closes each stream a linger later, the gateway stops its ffmpeg.
    for (const v of viewers) {
      void v.close();
      await sleep(STAGGER_MS);
    }
    await Promise.all(viewers.map((v) => v.close()));
  }
}

/** Past what the box relays: a viewer without picture, segments skipped or dropped, late or too few. */
function verdict(s: Step, live: number, o: StepOptions): string {
  if (!(s.sim_cores >= 0.01)) return SIM_HUNG;
  if (live < s.streams || s.errors.length) return `${s.streams - live} of ${s.streams} without picture${s.errors.length ? ` (${s.errors.join('; ')})` : ''}`;
  if (s.skipped > 0 || s.dropped > 0) return `${s.skipped} segments skipped at the hub, ${s.dropped} dropped at the gateway`;
  if (s.gap_p99_ms > 2000 * o.keyintS) return `late: segment gap p99 ${Math.round(s.gap_p99_ms)} ms > 2 × key-frame interval`;
  if (s.segments_per_s < 0.9 / o.keyintS) return `behind: ${s.segments_per_s.toFixed(2)} segments/s < 90% of ${(1 / o.keyintS).toFixed(2)}`;
  return 'ok';
}
