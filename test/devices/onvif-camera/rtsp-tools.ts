import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

/** Debian's ffprobe / ffmpeg against an RTSP URL, over TCP (as the gateway pulls). */
const run = promisify(execFile);

export interface ProbedStream {
  codec_name: string;
  profile?: string;
  width: number;
  height: number;
}

/** The video streams ffprobe sees at `url`; throws with ffprobe's message when it cannot open it. */
export async function ffprobe(url: string, timeoutMs = 10_000): Promise<ProbedStream[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-select_streams', 'v', '-show_entries', 'stream=codec_name,profile,width,height', '-of', 'json', url], { timeout: timeoutMs });
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
}

/**
 * ffmpeg pulling `url` and decoding it to 8-bit luma frames (`-f rawvideo -pix_fmt gray`), each
 * handed to `onFrame` with the time it arrived. `stop(signal)` kills it by PID.
 */
export function pullFrames(url: string, width: number, height: number, onFrame: (luma: Buffer, at: number) => void): { proc: ChildProcess; stop(signal?: NodeJS.Signals): Promise<void>; stderr(): string } {
  const proc = spawn('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-fflags', 'nobuffer', '-i', url, '-an', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const size = width * height;
  let pending = Buffer.alloc(0);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => void (err = (err + d.toString()).slice(-2000)));
  proc.stdout!.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= size) {
      onFrame(pending.subarray(0, size), Date.now());
      pending = pending.subarray(size);
    }
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

export async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
