import { spawn, type ChildProcess } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import type { GatewayCredentials } from '../../hub/registry.js';
import { topics } from '../../protocol/topics.js';
import { avcMime, fmp4Splitter } from '../../lib/fmp4.js';
import { FRAME_INIT, FRAME_MEDIA, encodeRelayFrame, type RelayHello, type RelayOpen, type RelayToGateway, type VideoErrorCode, type ViewerMessage } from '../../protocol/video.js';

/**
 * A gateway's side of the video relay for hub tests (docs/video.md): connects to
 * /api/v1/video/relay with the gateway's Basic credentials, answers `open` with `opened`, the init
 * segment and media segments of real H.264 that Debian's ffmpeg encodes on the fly (`-re`: paced in
 * real time, a key frame every 12 frames at 25 fps), and records what the hub asked.
 */
export type CameraBehaviour = { kind: 'stream' } | { kind: 'error'; code: VideoErrorCode; message: string } | { kind: 'silent' };

export interface TestRelay {
  readonly ws: WebSocket;
  readonly opens: RelayOpen[];
  readonly closes: string[];
  /** Bytes sent per sid (segments, with frame headers). */
  readonly sent: Map<string, number>;
  /** How each device answers `open` (default: stream). */
  behave(device: string, b: CameraBehaviour): void;
  /** Send anything (garbage tests). */
  raw(data: string | Buffer): void;
  /** Sids streaming now (ffmpeg running). */
  running(): string[];
  close(): Promise<void>;
}

export async function connectTestRelay(httpUrl: string, creds: { username: string; password: string }, hello?: Omit<RelayHello, 't'>): Promise<TestRelay> {
  const url = `${httpUrl.replace(/^http/, 'ws')}/api/v1/video/relay`;
  const ws = new WebSocket(url, { headers: { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`relay upgrade refused: HTTP ${res.statusCode}`)));
  });
  const opens: RelayOpen[] = [];
  const closes: string[] = [];
  const sent = new Map<string, number>();
  const behaviour = new Map<string, CameraBehaviour>();
  const procs = new Map<string, ChildProcess>();
  const send = (data: string | Uint8Array) => {
    if (ws.readyState === ws.OPEN) ws.send(data);
  };
  const stop = (sid: string) => {
    const p = procs.get(sid);
    procs.delete(sid);
    p?.kill('SIGKILL');
  };
  if (hello) send(JSON.stringify({ t: 'hello', ...hello }));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(String(data)) as RelayToGateway;
    if (msg.t === 'close') {
      closes.push(msg.sid);
      stop(msg.sid);
      return;
    }
    opens.push(msg);
    const b = behaviour.get(msg.device) ?? { kind: 'stream' };
    if (b.kind === 'error') return send(JSON.stringify({ t: 'error', sid: msg.sid, code: b.code, message: b.message }));
    if (b.kind === 'silent') return;
    stream(msg.sid);
  });
  ws.on('close', () => {
    for (const sid of [...procs.keys()]) stop(sid);
  });

  function stream(sid: string): void {
    const p = spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '120', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '12', '-pix_fmt', 'yuv420p', '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', 'pipe:1'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    procs.set(sid, p);
    const split = fmp4Splitter(8 * 1024 * 1024);
    p.stdout!.on('data', (chunk: Buffer) => {
      if (procs.get(sid) !== p) return;
      for (const seg of split.push(chunk)) {
        if (seg.kind === 'init') send(JSON.stringify({ t: 'opened', sid, mime: avcMime(seg.bytes) ?? 'video/mp4', width: 320, height: 240 }));
        const frame = encodeRelayFrame(seg.kind === 'init' ? FRAME_INIT : FRAME_MEDIA, sid, seg.bytes);
        sent.set(sid, (sent.get(sid) ?? 0) + frame.length);
        send(frame);
      }
    });
  }

  return {
    ws,
    opens,
    closes,
    sent,
    behave: (device, b) => void behaviour.set(device, b),
    raw: (data) => send(data),
    running: () => [...procs.keys()],
    async close() {
      for (const sid of [...procs.keys()]) stop(sid);
      if (ws.readyState === ws.CLOSED) return;
      const closed = new Promise((r) => ws.once('close', r));
      ws.close();
      await closed;
    },
  };
}

/** A viewer: the messages and binary segments it received, in order. */
export interface TestViewer {
  readonly ws: WebSocket;
  readonly messages: ViewerMessage[];
  readonly segments: Buffer[];
  readonly closed: Promise<number>;
  /** Resolves when `pred` holds (checked at every frame); rejects after `ms`. */
  until(pred: () => boolean, ms?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

/** `query`: appended to the URL (`node=hub-a`: the cluster's routing hint, docs/video.md "Cluster"). */
export async function watchVideo(httpUrl: string, watch: { token?: string; estate: string; device: string; quality?: 'main' | 'sub' } | string, query?: string): Promise<TestViewer> {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/api/v1/video/live${query ? `?${query}` : ''}`);
  const messages: ViewerMessage[] = [];
  const segments: Buffer[] = [];
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of [...waiters]) w();
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) segments.push(Buffer.from(data as Buffer));
    else messages.push(JSON.parse(String(data)) as ViewerMessage);
    poke();
  });
  const closed = new Promise<number>((r) =>
    ws.once('close', (code) => {
      r(code);
      poke();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(typeof watch === 'string' ? watch : JSON.stringify({ t: 'watch', quality: 'main', ...watch }));
  return {
    ws,
    messages,
    segments,
    closed,
    until(pred, ms = 10_000, what = 'condition') {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`viewer: ${what} not within ${ms} ms; got ${JSON.stringify(messages)} and ${segments.length} segments`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

/** The box type at the start of a segment (`moof`, `ftyp`). */
export const boxType = (b: Buffer): string => b.toString('latin1', 4, 8);

/** Poll `fn` until it returns true, every 50 ms; throws after `ms`. */
export async function eventually(fn: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what} not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The gateway's retained status over MQTT with these devices (kind, name, linked cameras), then wait
 * until the hub's live state has them (GET /api/v1/state/estates/{estate}/devices/{device}).
 */
export async function publishDevices(
  t: { connect(creds: GatewayCredentials): Promise<MqttClient>; api(method: string, path: string): Promise<{ status: number }> },
  creds: GatewayCredentials,
  devices: Record<string, { kind: 'onvif-camera' | 'access-gate' | 'barrier-gate'; name?: string; cameras?: string[] }>,
): Promise<MqttClient> {
  const client = await t.connect(creds);
  const status = {
    v: 1,
    estate: creds.estate,
    gateway: creds.gateway,
    state: 'online',
    ts: Date.now(),
    reason: 'connected',
    devices: Object.fromEntries(Object.entries(devices).map(([id, d]) => [id, { online: true, lastSeen: Date.now(), ...d }])),
  };
  await client.publishAsync(topics.status(creds.estate, creds.gateway), JSON.stringify(status), { qos: 1, retain: true });
  for (const id of Object.keys(devices)) await eventually(async () => (await t.api('GET', `/api/v1/state/estates/${creds.estate}/devices/${id}`)).status === 200, 10_000, `device ${id} in the live state`);
  return client;
}
