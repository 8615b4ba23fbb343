import { spawn } from 'node:child_process';
import type { Locator, Page } from 'playwright-core';
import { avcMime, fmp4Splitter } from '../../lib/fmp4.js';
import type { VideoCameraView, VideoErrorCode, ViewerHello } from '../../protocol/video.js';
import { runCli } from '../support/cli.js';
import { PASSWORD } from './support.js';

/**
 * The hub's end of live video, STOOD IN for the screens' browser tests (issue 20): the pages, the login
 * and the live link are the real hub's, but the viewer WebSocket `/api/v1/video/live` and
 * `GET /api/v1/video/cameras` are answered here through Playwright's routing, per docs/video.md, with
 * real fragmented MP4 that Debian's ffmpeg encodes on the fly (cut by lib/fmp4.ts, sent at real time).
 * The lead's end-to-end test crosses the real relay (gateway → hub → screen); this one checks the screens.
 */
export interface Stream {
  mime: string;
  init: Buffer;
  media: Buffer[];
  /** Seconds of video per media segment. */
  segmentS: number;
}

/** `seconds` of a moving test pattern, 640×360, 25 fps, a key frame (and so a segment) every 12 frames. */
export async function encodeTestStream(seconds: number): Promise<Stream> {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '12', '-pix_fmt', 'yuv420p', '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', 'pipe:1'];
  const ff = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const split = fmp4Splitter(8 * 1024 * 1024);
  let init: Buffer | undefined;
  const media: Buffer[] = [];
  let stderr = '';
  ff.stdout.on('data', (chunk: Buffer) => {
    for (const s of split.push(chunk)) if (s.kind === 'init') init = s.bytes;
    else media.push(s.bytes);
  });
  ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    ff.once('error', reject);
    ff.once('close', resolve);
  });
  if (code !== 0 || !init) throw new Error(`ffmpeg exit ${code}: ${stderr}`);
  const mime = avcMime(init);
  if (!mime) throw new Error('ffmpeg wrote no avcC');
  return { mime, init, media, segmentS: 12 / 25 };
}

export const camera = (device: string, over: Partial<VideoCameraView> = {}): VideoCameraView => ({
  estate: 'estate-a',
  gateway: 'gw-1',
  device,
  name: device,
  online: true,
  relay: true,
  ptz: false,
  qualities: ['main', 'sub'],
  linkedFrom: [],
  ...over,
});

export interface VideoStandIn {
  /** Every `watch` received, in order. */
  watches: ViewerHello[];
  /** Sockets streaming now. */
  open(): number;
}

/**
 * Answer the page's video requests: the cameras list, and for each `watch` either `errors[device]`
 * (then close) or `ready` + the init segment + media segments paced at real time.
 */
export async function standInForHubVideo(page: Page, stream: Stream, cameras: VideoCameraView[], errors: Record<string, { code: VideoErrorCode; message: string }> = {}): Promise<VideoStandIn> {
  const watches: ViewerHello[] = [];
  let open = 0;
  await page.route('**/api/v1/video/cameras?*', (route) => route.fulfill({ json: cameras.filter((c) => route.request().url().includes(`estate=${c.estate}`)) }));
  await page.routeWebSocket(/\/api\/v1\/video\/live$/, (ws) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    ws.onMessage((raw) => {
      if (typeof raw !== 'string' || timer) return;
      const hello = JSON.parse(raw) as ViewerHello;
      watches.push(hello);
      const err = errors[hello.device];
      if (err || !hello.token) {
        ws.send(JSON.stringify({ t: 'error', ...(err ?? { code: 'RB_ERR_UNAUTHENTICATED', message: 'no token' }) }));
        void ws.close({ code: 1000 });
        return;
      }
      ws.send(JSON.stringify({ t: 'ready', mime: stream.mime, width: 640, height: 360 }));
      ws.send(stream.init);
      open++;
      let i = 0;
      timer = setInterval(() => {
        if (i >= stream.media.length) {
          clearInterval(timer);
          open--;
          void ws.close({ code: 1000 });
          return;
        }
        ws.send(stream.media[i++]!);
      }, stream.segmentS * 1000);
    });
    ws.onClose(() => {
      if (timer && open > 0) open--;
      clearInterval(timer);
      timer = undefined;
    });
  });
  return { watches, open: () => open };
}

/** The tile plays: its video's currentTime advances, and two screenshots of it a second apart differ. */
export async function expectPlaying(tile: Locator): Promise<void> {
  await tile.locator('xpath=self::*[@data-state="playing"]').waitFor({ timeout: 15_000 });
  const video = tile.locator('video');
  const t1 = (await video.evaluate((v: unknown) => (v as { currentTime: number }).currentTime)) as number;
  const shot1 = await tile.screenshot();
  await new Promise((r) => setTimeout(r, 1_000));
  const t2 = (await video.evaluate((v: unknown) => (v as { currentTime: number }).currentTime)) as number;
  const shot2 = await tile.screenshot();
  if (!(t2 > t1)) throw new Error(`currentTime did not advance: ${t1} → ${t2}`);
  if (shot1.equals(shot2)) throw new Error('two screenshots of the tile a second apart are the same');
}

/**
 * Two estates in a hub data dir (枫林苑 and 桂花园, through the CLI as an installer would), each with
 * a volunteer (`vol-a`, `vol-b`, password PASSWORD): the video tests' world before the hub starts.
 */
export async function seedTwoEstates(hubDir: string, estates: readonly [string, string]): Promise<void> {
  const cli = async (args: string[]) => {
    const r = await runCli(['hub', ...args, '--data-dir', hubDir]);
    if (r.code !== 0) throw new Error(`red-butler hub ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  };
  const [a, b] = estates;
  await cli(['estate', 'add', '--estate', a, '--name', '枫林苑']);
  await cli(['estate', 'add', '--estate', b, '--name', '桂花园']);
  await cli(['user', 'add', '--name', 'vol-a', '--role', 'volunteer', '--scope', `estate:${a}`, '--password', PASSWORD]);
  await cli(['user', 'add', '--name', 'vol-b', '--role', 'volunteer', '--scope', `estate:${b}`, '--password', PASSWORD]);
}
