/**
 * The video benchmark's output (bench/video.ts): a progress line per step, the table, the most
 * streams each quality relayed, and the JSON kept under bench/results/.
 */
import { cpus, totalmem } from 'node:os';
import type { VideoQuality } from '../protocol/video.js';
import { table } from './lib.js';
import { SIM_HUNG, type Idle, type Step } from './video-step.js';

const ms = (cores: number, n: number): number => (cores * 1000) / n;
const r = (x: number | undefined, d = 1): number | string => (x === undefined || !Number.isFinite(x) ? '-' : +x.toFixed(d));

export interface Ctx { load: number[][]; shapes: Record<VideoQuality, string>; seconds: number; simRestarts: number }

/** Per-stream figures of a step: CPU in ms per second (1000 = one core), memory in MiB, bytes in kB/s. */
export function perStream(s: Step) {
  const n = s.streams;
  const gw = ms(s.gw_node_cores + s.gw_ffmpeg_cores, n);
  const hub = ms(s.hub_cores, n);
  const remux = s.baseline ? ms(s.baseline.ffmpeg_cores, n) : NaN;
  return {
    remux_ms_s: remux, gw_ms_s: gw, gw_node_ms_s: ms(s.gw_node_cores, n), gw_ffmpeg_ms_s: ms(s.gw_ffmpeg_cores, n), hub_ms_s: hub,
    relay_vs_remux: (gw + hub) / remux,
    ffmpeg_pss_mb: s.gw_ffmpeg_pss_mb, ffmpeg_rss_mb: s.gw_ffmpeg_rss_mb,
    kbytes_s: s.bytes_per_s / 1000,
  };
}

export function progressLine(s: Step): string {
  const p = perStream(s);
  return `${s.quality} ×${s.streams}: ${s.verdict}; per stream gateway ${r(p.gw_ms_s)} ms/s (ffmpeg ${r(p.gw_ffmpeg_ms_s)}), hub ${r(p.hub_ms_s)} ms/s, bare remux ${r(p.remux_ms_s)} ms/s; ${r(p.kbytes_s, 0)} kB/s; gap p99 ${r(s.gap_p99_ms, 0)} ms; machine ${r(s.machine_busy * 100, 0)}% busy`;
}

/**
 * Memory one more stream adds, MiB: an ffmpeg child (PSS) at the gateway, plus the growth of the
 * gateway's and hub's RSS per stream from the quality's first step to `upTo` (Node's RSS moves with
 * its garbage collector, so only a span of several streams says much).
 */
export function memoryPerStream(steps: Step[], upTo: Step): { ffmpeg_pss_mb: number; gw_node_mb: number; hub_mb: number } {
  const first = steps.filter((s) => s.quality === upTo.quality).sort((a, b) => a.streams - b.streams)[0]!;
  const span = upTo.streams - first.streams;
  return {
    ffmpeg_pss_mb: upTo.gw_ffmpeg_pss_mb,
    gw_node_mb: span > 0 ? (upTo.gw_rss_mb - first.gw_rss_mb) / span : NaN,
    hub_mb: span > 0 ? (upTo.hub_rss_mb - first.hub_rss_mb) / span : NaN,
  };
}

/**
 * The most streams of `quality` relayed in time: the last step before the first one that was not.
 * A step the simulator could not serve bounds nothing (`bounded` false: at least that many).
 */
export function most(steps: Step[], quality: VideoQuality): { streams: number; bounded: boolean; step?: Step; why?: string } {
  const qs = steps.filter((s) => s.quality === quality).sort((a, b) => a.streams - b.streams);
  const bad = qs.findIndex((s) => s.verdict !== 'ok');
  const good = bad === -1 ? qs : qs.slice(0, bad);
  const step = good.at(-1);
  return { streams: step?.streams ?? 0, bounded: bad !== -1 && qs[bad]!.verdict !== SIM_HUNG, ...(step ? { step } : {}), ...(bad !== -1 ? { why: `${qs[bad]!.streams}: ${qs[bad]!.verdict}` } : {}) };
}

export function printReport(steps: Step[], idle: Idle, ctx: Ctx): void {
  const rows = steps.map((s) => {
    const p = perStream(s);
    return {
      quality: s.quality, streams: s.streams,
      'remux ms/s': r(p.remux_ms_s), 'gw ms/s': r(p.gw_ms_s), 'gw node': r(p.gw_node_ms_s), 'gw ffmpeg': r(p.gw_ffmpeg_ms_s), 'hub ms/s': r(p.hub_ms_s),
      '(gw+hub)/remux': r(p.relay_vs_remux), 'kB/s': r(p.kbytes_s, 0),
      'gw RSS MB': r(s.gw_rss_mb, 0), 'ffmpeg PSS MB': r(p.ffmpeg_pss_mb), 'hub RSS MB': r(s.hub_rss_mb, 0),
      'sim ms/s': r(s.sim_cores * 1000, 0), 'gap p99 ms': r(s.gap_p99_ms, 0), 'start p50 ms': r(s.start_p50_ms, 0), 'busy %': r(s.machine_busy * 100, 0),
      verdict: s.verdict.length > 40 ? `${s.verdict.slice(0, 39)}…` : s.verdict,
    };
  });
  const out = process.stdout;
  out.write(`\nLive video relay cost (${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; load average ${ctx.load.map((l) => l.map((x) => x.toFixed(2)).join(' ')).join(' → ')})\n`);
  out.write(`main ${ctx.shapes.main}, sub ${ctx.shapes.sub}; ${ctx.seconds} s measured per step. Per stream: CPU in ms per second (1000 = one core) above idle,\n`);
  out.write(`memory in MiB (the gateway's and hub's RSS; each ffmpeg child's PSS), bytes as each viewer received them. remux = the gateway's own ffmpeg command\n`);
  out.write(`pulling the same RTSP straight to /dev/null; gw = the gateway process + its ffmpeg children; hub = the hub process.\n\n`);
  out.write(`${table(rows)}\n\n`);
  out.write(`idle (every camera known, nobody watching): gateway ${r(idle.gwCores * 1000)} ms/s, ${r(idle.gwRssMb, 0)} MiB; hub ${r(idle.hubCores * 1000)} ms/s, ${r(idle.hubRssMb, 0)} MiB\n`);
  if (ctx.simRestarts) out.write(`the RTSP simulator died or hung ${ctx.simRestarts} time(s) and was started again; those steps were measured again\n`);
  for (const q of ['main', 'sub'] as const) {
    const m = most(steps, q);
    if (!steps.some((s) => s.quality === q)) continue;
    const p = m.step ? perStream(m.step) : undefined;
    out.write(`${q} (${ctx.shapes[q]}): ${m.bounded ? '' : '≥ '}${m.streams} streams relayed in time${m.why ? ` (next step ${m.why})` : ' (the largest step tried)'}`);
    const mem = m.step ? memoryPerStream(steps, m.step) : undefined;
    out.write(p && mem ? `; there, per stream: gateway ${r(p.gw_ms_s)} ms/s and ${r(mem.ffmpeg_pss_mb)} MiB (ffmpeg) + ${r(mem.gw_node_mb, 2)} MiB (Node), hub ${r(p.hub_ms_s)} ms/s and ${r(mem.hub_mb, 2)} MiB, ${r(p.kbytes_s, 0)} kB/s\n` : '\n');
  }
}

export function reportJson(steps: Step[], idle: Idle, ctx: Ctx) {
  return {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, mem_gib: Math.round(totalmem() / 2 ** 30) },
    load: ctx.load, shapes: ctx.shapes, seconds: ctx.seconds, sim_restarts: ctx.simRestarts, idle,
    most: Object.fromEntries((['main', 'sub'] as const).map((q) => {
      const { step, ...m } = most(steps, q);
      return [q, { ...m, per_stream: step ? perStream(step) : undefined, memory_per_stream: step ? memoryPerStream(steps, step) : undefined }];
    })),
    steps: steps.map((s) => ({ ...s, per_stream: perStream(s) })),
  };
}
