import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm run bench:video` in its tiniest mode (one sub-stream, a one-second window): the whole real
 * path runs (RTSP simulator, ONVIF camera, hub and gateway processes from dist/, a viewer) and the
 * report carries numbers. No figure is judged: this box's load decides them.
 */
const BENCH = fileURLToPath(new URL('../../bench/video.ts', import.meta.url));

describe('bench:video smoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-video-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one step through the gateway and hub beside the bare remux and reports CPU, memory and bytes', async () => {
    const out = join(dir, 'video.json');
    const args = ['--import', 'tsx', BENCH, '--quick', '--streams', '1', '--quality', 'sub', '--seconds', '1', '--warmup', '0', '--out', out];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/remux ms\/s +gw ms\/s/);
    expect(stdout).toMatch(/^sub \(640×360 @ 512 kbit\/s\): (≥ )?\d+ streams relayed in time/m);

    const { video } = JSON.parse(readFileSync(out, 'utf8')) as { video: { steps: Array<Record<string, unknown> & { baseline: Record<string, number>; per_stream: Record<string, number> }> } };
    expect(video.steps).toHaveLength(1);
    const s = video.steps[0]!;
    expect(s).toMatchObject({ quality: 'sub', streams: 1, gateways: 1, errors: [] });
    // A viewer received media (512 kbit/s is 64 kB/s), an ffmpeg child ran under the gateway and one bare beside it.
    expect(s.bytes_per_s).toBeGreaterThan(10_000);
    expect(s.gw_ffmpeg_pss_mb).toBeGreaterThan(0);
    expect(s.baseline.ffmpeg_pss_mb).toBeGreaterThan(0);
    for (const k of ['remux_ms_s', 'gw_ms_s', 'gw_ffmpeg_ms_s', 'hub_ms_s', 'kbytes_s']) expect(Number.isFinite(s.per_stream[k]), k).toBe(true);
    for (const k of ['gw_rss_mb', 'hub_rss_mb', 'sim_cores', 'machine_busy']) expect(s[k] as number, k).toBeGreaterThan(0);
  }, 90_000);
});
