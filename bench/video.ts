/**
 * Live video benchmark (issue 20, "Performance"; docs/video.md, "Cost"): what a watched stream costs
 * at the gateway and at the hub (remux only, no re-encoding), and the most streams this box relays
 * in time at the 1080p main stream and at the sub-stream, with the bytes per second each costs.
 *
 * All real, on this machine: the camera simulator's RTSP server (GStreamer; each stream shape encoded
 * once and shared by every RTSP client, its CPU measured apart), one ONVIF camera simulator per camera,
 * a hub process and a gateway process with the ONVIF driver (dist/, through the CLI; the gateway runs
 * one Debian ffmpeg per stream, counted under the gateway), and viewers on /api/v1/video/live with a
 * volunteer's token. Steps of 1, 8, 32, 64, 96, 128 distinct cameras at one quality, each measured for
 * --seconds beside the same streams pulled by bare ffmpeg (the gateway's own command, output to
 * /dev/null) in the same run, until a step is late (a viewer without picture, a segment skipped or
 * dropped, segment gap p99 over twice the key-frame interval, fewer than 90% of the segments).
 * CPU (utime + stime from /proc) per stream and ratios stay meaningful on a busy machine.
 *
 *   npm run bench:video [-- --quick] [-- --seconds 6 --max-streams 32 --quality main,sub ...]   (--help)
 *
 * Prints one table and writes the `video` key of bench/results/latest.json (other keys kept); a run
 * with other than the default steps goes to bench/results/latest-video-<label>.json.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RtspStreamShape } from '../devices/onvif-camera/rtsp-sim.js';
import type { VideoQuality } from '../protocol/video.js';
import { procCpuS, sleep } from './lib.js';
import { rssMb } from './video-measure.js';
import { printReport, progressLine, reportJson } from './video-report.js';
import { log, startRig } from './video-setup.js';
import { runStep, SIM_HUNG, type Idle, type Step } from './video-step.js';

const HELP = `npm run bench:video -- [options]

  --seconds N       measured window of each step (default 5; --quick 3)
  --warmup N        seconds after every viewer has its first segment, before measuring (default 2; --quick 1;
                    0 also skips the discarded first view that warms the hub's and gateway's JIT)
  --streams LIST    the steps: distinct cameras watched at once (default 1,8,32,64,96,128; --quick 1,2,4)
  --max-streams N   instead: 1, 2, 4, … up to N (at most 256; one gateway process per 64 cameras)
  --quality LIST    main, sub or both (default main,sub)
  --main WxH@KBPS   the main stream (default 1920x1080@4000)
  --sub WxH@KBPS    the sub-stream (default 640x360@512)
  --fps N           frames a second (default 25; a key frame every fps/2 frames)
  --no-baseline     skip the bare-ffmpeg remux beside each step
  --quick           a smoke run of about a minute (--seconds 3 --warmup 1 --max-streams 4)
  --out FILE        write the JSON report here instead of bench/results/
  --help            this text

Stops a quality at its first late step; the last good step is the most this box relays.
Needs dist/ (npm run bench:video builds it), Debian ffmpeg and GStreamer's RTSP server via /usr/bin/python3.`;

const DEFAULT_STEPS = [1, 8, 32, 64, 96, 128];
const MAX_STREAMS = 256;

function shape(text: string, flag: string): RtspStreamShape {
  const m = /^(\d+)x(\d+)@(\d+)$/.exec(text);
  if (!m) throw new Error(`${flag} ${text}: expected WIDTHxHEIGHT@KBPS, e.g. 1920x1080@4000`);
  return { width: Number(m[1]), height: Number(m[2]), kbps: Number(m[3]) };
}

function options() {
  const { values: v } = parseArgs({
    options: {
      seconds: { type: 'string' }, warmup: { type: 'string' }, 'max-streams': { type: 'string' }, streams: { type: 'string' },
      quality: { type: 'string', default: 'main,sub' }, main: { type: 'string', default: '1920x1080@4000' }, sub: { type: 'string', default: '640x360@512' },
      fps: { type: 'string', default: '25' }, 'no-baseline': { type: 'boolean', default: false }, quick: { type: 'boolean', default: false },
      out: { type: 'string' }, help: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const num = (s: string | undefined, def: number, flag: string, min: number, max: number): number => {
    const n = s === undefined ? def : Number(s);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} ${s}: a number ${min}..${max}`);
    return n;
  };
  const doubling: number[] = [];
  if (v['max-streams'] !== undefined) {
    const max = num(v['max-streams'], 0, '--max-streams', 1, MAX_STREAMS);
    for (let n = 1; n <= max; n *= 2) doubling.push(n);
    if (doubling.at(-1) !== max) doubling.push(max);
  }
  const steps = v.streams
    ? v.streams.split(',').map((s) => num(s, 0, '--streams', 1, MAX_STREAMS)).sort((a, b) => a - b)
    : doubling.length ? doubling : v.quick ? [1, 2, 4] : DEFAULT_STEPS;
  const qualities = v.quality.split(',').map((q) => q.trim());
  for (const q of qualities) if (q !== 'main' && q !== 'sub') throw new Error(`--quality ${q}: main or sub`);
  const fps = num(v.fps, 25, '--fps', 1, 60);
  const custom = v.quick || v.streams !== undefined || v['max-streams'] !== undefined || v.quality !== 'main,sub' || v.seconds !== undefined;
  return {
    seconds: num(v.seconds, v.quick ? 3 : 5, '--seconds', 1, 600), warmup: num(v.warmup, v.quick ? 1 : 2, '--warmup', 0, 60),
    steps, qualities: qualities as VideoQuality[], fps, keyintS: Math.max(1, Math.floor(fps / 2)) / fps,
    main: shape(v.main, '--main'), sub: shape(v.sub, '--sub'), baseline: !v['no-baseline'],
    out: v.out, label: custom ? (v.quick ? 'quick' : 'custom') : undefined,
  };
}

async function main(): Promise<void> {
  const o = options();
  const load = [loadavg()];
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-video-'));
  const shapes = { main: `${o.main.width}×${o.main.height} @ ${o.main.kbps} kbit/s`, sub: `${o.sub.width}×${o.sub.height} @ ${o.sub.kbps} kbit/s` };
  const cameras = Math.max(...o.steps);
  log(`starting the RTSP simulator, ${cameras} ONVIF cameras, a hub and a gateway (main ${shapes.main}, sub ${shapes.sub}, ${o.fps} fps)`);
  const rig = await startRig({ dir, cameras, main: o.main, sub: o.sub, fps: o.fps });
  const steps: Step[] = [];
  let simRestarts = 0;
  try {
    // A discarded first view (the JIT of the hub and gateway warms up), then idle: every camera
    // known, the relay links up, nobody watching.
    if (o.warmup > 0) await runStep(rig, 'main', 1, { gwCores: 0, hubCores: 0, gwRssMb: 0, hubRssMb: 0 }, { ...o, seconds: 1, warmup: 1, baseline: false });
    // The gateways' devices come online at the hub in the first seconds (ONVIF subscriptions, status
    // and health): let that pass first, longer with more cameras.
    await sleep(o.warmup > 0 ? 3000 + 60 * cameras : 500);
    const gws = rig.gateways.map((g) => g.proc.pid!);
    const hub = rig.hub.proc.pid!;
    const gwCpu = (): number => gws.reduce((a, p) => a + procCpuS(p), 0);
    const t0 = performance.now();
    const c0 = [gwCpu(), procCpuS(hub)];
    await sleep(Math.max(o.label === 'quick' ? 2 : 5, o.seconds) * 1000);
    const wall = (performance.now() - t0) / 1000;
    const idle: Idle = { gwCores: (gwCpu() - c0[0]!) / wall, hubCores: (procCpuS(hub) - c0[1]!) / wall, gwRssMb: gws.reduce((a, p) => a + rssMb(p), 0), hubRssMb: rssMb(hub) };
    log(`idle (${gws.length} gateway${gws.length > 1 ? 's' : ''}): gateway ${(idle.gwCores * 1000).toFixed(1)} ms/s ${idle.gwRssMb.toFixed(0)} MiB, hub ${(idle.hubCores * 1000).toFixed(1)} ms/s ${idle.hubRssMb.toFixed(0)} MiB`);
    for (const q of o.qualities) {
      for (const n of o.steps) {
        log(`${q} ×${n}: ${o.baseline ? 'bare remux, then ' : ''}through the gateway and hub, ${o.seconds} s each`);
        let s = await runStep(rig, q, n, idle, o);
        // GStreamer's RTSP server (the camera side, not what is measured) now and then dies or hangs
        // when clients come and go: start it again on the same port and measure the step again.
        for (let retry = 0; s.verdict === SIM_HUNG && retry < 2; retry++) {
          log(`${q} ×${n}: ${SIM_HUNG}; starting it again and measuring the step again`);
          simRestarts++;
          await rig.restartSim();
          s = await runStep(rig, q, n, idle, o);
        }
        steps.push(s);
        log(progressLine(s));
        // Three times: this quality stops here, the steps before stand (the report says why).
        if (s.verdict !== 'ok') break;
      }
    }
    load.push(loadavg());
    const ctx = { load, shapes, seconds: o.seconds, simRestarts };
    printReport(steps, idle, ctx);
    const json = reportJson(steps, idle, ctx);
    if (o.out) writeFileSync(o.out, `${JSON.stringify({ video: json }, null, 2)}\n`);
    else {
      mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
      // latest.json holds the other benchmarks' keys too: only `video` is replaced, and only by a default run.
      const name = o.label ? `latest-video-${o.label}.json` : 'latest.json';
      const file = new URL(`./results/${name}`, import.meta.url);
      const prev = !o.label && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
      writeFileSync(file, `${JSON.stringify({ ...prev, video: json }, null, 2)}\n`);
      log(`wrote bench/results/${name} (video)`);
    }
  } finally {
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
