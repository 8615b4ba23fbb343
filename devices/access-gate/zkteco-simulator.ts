import { request } from 'node:http';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { EventType } from '../../protocol/index.js';
import { postUntilAccepted, type RepostOptions } from '../sim/repost.js';
import { decodeControlDevice } from './zkteco-commands.js';
import type { ZkCommand } from './zkteco-codes.js';

/**
 * A ZKTeco access controller in ADMS ("PUSH SDK") mode, on the wire [PUSH, see zkteco-codes.ts]: it
 * shakes hands with `GET /iclock/cdata?SN=..&options=all`, then polls `GET /iclock/getrequest` every
 * `pollMs`, carries out the `C:<id>:CONTROL DEVICE ..` commands it gets and reports each with
 * `POST /iclock/devicecmd` (`ID=..&Return=..&CMD=..`), and posts real-time events as tab-separated
 * `rtlog` records. Times are local wall-clock time without an offset, like the firmware.
 */
export type ZkSimKind = 'card-ok' | 'card-unknown' | 'card-expired' | 'door-open' | 'door-close' | 'forced' | 'held' | 'tamper';

/** Event code of each simulated kind (zkteco-codes.ts) and what it becomes for us. */
export const ZK_SIM_KINDS: Readonly<Record<ZkSimKind, { event: number; type: EventType }>> = {
  'card-ok': { event: 0, type: 'access.granted' }, // Normal Verify Open
  'card-unknown': { event: 27, type: 'access.denied' }, // Unregistered Personnel
  'card-expired': { event: 29, type: 'access.denied' }, // Personnel Expired
  'door-open': { event: 200, type: 'door.opened' }, // Door Opened Correctly
  'door-close': { event: 201, type: 'door.closed' }, // Door Closed Correctly
  forced: { event: 102, type: 'door.forced' }, // Opened Forcefully
  held: { event: 28, type: 'door.held' }, // Open Door Timeout
  tamper: { event: 100, type: 'device.tamper' }, // Tamper Alarm
};

export interface ZktecoSimulatorOptions {
  /** The gateway's push listener, e.g. http://127.0.0.1:8091 */
  serverUrl: string;
  serialNumber: string;
  /** Between getrequest polls (default 1000 ms; the real device uses the handshake's Delay=). */
  pollMs?: number;
  utcOffsetMinutes?: number;
  log?: Logger;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
}

export interface ZkSendOptions {
  door?: number;
  cardNo?: string;
  pin?: string;
  verifytype?: number;
  /** Re-send with this index (a device retrying); the counter does not move. */
  index?: number;
  at?: number;
  /** Send this event code instead of the kind's. */
  event?: number;
  /** Re-post the same record (same index and time) until the server answers OK (sim/repost.ts). */
  retry?: RepostOptions;
}

export interface ZkHttpAnswer {
  status: number;
  body: string;
}

export interface ZkSentRecord extends ZkHttpAnswer {
  index: number;
  line: string;
}

export interface ZkExecution {
  id: string;
  name: ZkCommand;
  door: number;
  seconds: number;
  at: number;
}

export interface ZktecoSimulator {
  /** Shake hands and start polling (in the background; failures are retried at the next tick). */
  start(): void;
  send(kind: ZkSimKind, opts?: ZkSendOptions): Promise<ZkSentRecord>;
  /** Post several rtlog records in one request, like firmware catching up after a link loss. */
  sendBatch(items: Array<[ZkSimKind, ZkSendOptions?]>): Promise<ZkHttpAnswer>;
  /** Post an rtstate record (door sensor / relay / alarm). */
  sendState(): Promise<ZkHttpAnswer>;
  sendRaw(method: 'GET' | 'POST', pathAndQuery: string, body?: string): Promise<ZkHttpAnswer>;
  /** CONTROL DEVICE commands carried out, oldest first. */
  executions(): ZkExecution[];
  /** Refuse the next n commands with this Return code (default -13). */
  failNext(n: number, code?: number): void;
  /** Go silent (no polls, no handshake) and come back. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
  /** Handshake option lines the server gave, by key. */
  readonly serverOptions: ReadonlyMap<string, string>;
  readonly polls: number;
}

export function createZktecoSimulator(o: ZktecoSimulatorOptions): ZktecoSimulator {
  const log = o.log ?? silentLogger();
  const pollMs = o.pollMs ?? 1_000;
  const offset = o.utcOffsetMinutes ?? 480;
  const sn = encodeURIComponent(o.serialNumber);
  const halt = new AbortController();
  const executions: ZkExecution[] = [];
  const serverOptions = new Map<string, string>();
  let failing = { n: 0, code: -13 };
  let index = 0;
  let polls = 0;
  let paused = false;
  let shaken = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  function http(method: 'GET' | 'POST', pathAndQuery: string, body = ''): Promise<ZkHttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(pathAndQuery, o.serverUrl), {
        method,
        signal: halt.signal,
        timeout: o.timeoutMs ?? 5_000,
        headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'user-agent': 'iClock Proxy/1.09' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer in time')));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Local wall-clock time of the device, "YYYY-MM-DD HH:MM:SS". */
  const zkTime = (ms: number): string => new Date(ms + offset * 60_000).toISOString().slice(0, 19).replace('T', ' ');

  function record(kind: ZkSimKind, s: ZkSendOptions, idx: number): string {
    const event = s.event ?? ZK_SIM_KINDS[kind].event;
    const access = kind.startsWith('card');
    const fields: Array<[string, string | number]> = [
      ['time', zkTime(s.at ?? Date.now())],
      ['pin', access ? (s.pin ?? (kind === 'card-unknown' ? '0' : '1001')) : '0'],
      ['cardno', access ? (s.cardNo ?? '13579246') : '0'],
      ['sitecode', 0],
      ['linkid', 0],
      ['eventaddr', kind === 'tamper' ? 0 : (s.door ?? 1)],
      ['event', event],
      ['inoutstatus', access ? 0 : 2],
      ['verifytype', s.verifytype ?? (access ? 4 : 200)],
      ['index', idx],
    ];
    return fields.map(([k, v]) => `${k}=${v}`).join('\t');
  }

  const rtlogPath = (): string => `/iclock/cdata?SN=${sn}&table=rtlog&Stamp=9999`;

  async function send(kind: ZkSimKind, s: ZkSendOptions = {}): Promise<ZkSentRecord> {
    const idx = s.index ?? ++index;
    const line = record(kind, { ...s, at: s.at ?? Date.now() }, idx);
    const post = (): Promise<ZkHttpAnswer> => http('POST', rtlogPath(), `${line}\n`);
    const answer = s.retry ? await postUntilAccepted(post, (a) => a.status === 200 && a.body.trim().startsWith('OK'), s.retry) : await post();
    log.debug({ kind, index: idx, status: answer.status }, 'simulated rtlog posted');
    return { ...answer, index: idx, line };
  }

  async function handshake(): Promise<void> {
    const a = await http('GET', `/iclock/cdata?SN=${sn}&options=all&pushver=2.4.1&language=83`);
    if (a.status !== 200 || !a.body.startsWith('GET OPTION FROM')) throw new Error(`handshake answered ${a.status}`);
    for (const line of a.body.split(/\r?\n/).slice(1)) {
      const eq = line.indexOf('=');
      if (eq > 0) serverOptions.set(line.slice(0, eq), line.slice(eq + 1));
    }
    shaken = true;
  }

  /** Carry out one `C:<id>:<command>` line and report it. */
  async function carryOut(line: string): Promise<void> {
    const m = /^C:([^:]{1,32}):(.*)$/.exec(line.trim());
    if (!m) return;
    const [, id = '', text = ''] = m;
    const decoded = decodeControlDevice(text);
    let ret = -1; // an unsupported command
    if (decoded && failing.n > 0) {
      failing = { ...failing, n: failing.n - 1 };
      ret = failing.code;
    } else if (decoded) {
      executions.push({ id, ...decoded, at: Date.now() });
      ret = 0;
    }
    const verb = text.startsWith('CONTROL DEVICE') ? 'CONTROL DEVICE' : text.split(' ')[0] ?? '';
    await http('POST', `/iclock/devicecmd?SN=${sn}`, `ID=${id}&Return=${ret}&CMD=${verb}\n`);
  }

  async function tick(): Promise<void> {
    if (!shaken) return handshake();
    const a = await http('GET', `/iclock/getrequest?SN=${sn}`);
    polls += 1;
    if (a.status !== 200 || a.body.trim() === 'OK') return;
    for (const line of a.body.split(/\r?\n/)) if (line.startsWith('C:')) await carryOut(line);
  }

  async function run(): Promise<void> {
    while (!halt.signal.aborted) {
      if (!paused) await tick().catch((err: unknown) => log.debug({ err }, 'simulated zkteco poll failed'));
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, pollMs);
        function done(): void {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    }
  }

  return {
    start() {
      loop ??= run();
    },
    send,
    sendBatch: (items) => http('POST', rtlogPath(), items.map(([k, s]) => `${record(k, s ?? {}, s?.index ?? ++index)}\n`).join('')),
    sendState: () =>
      http('POST', `/iclock/cdata?SN=${sn}&table=rtstate&Stamp=9999`, `time=${zkTime(Date.now())}\tsensor=01\trelay=00\talarm=0000000000000000\tdoor=01\n`),
    sendRaw: (method, pathAndQuery, body) => http(method, pathAndQuery, body),
    executions: () => [...executions],
    failNext(n, code = -13) {
      failing = { n: Math.max(0, Math.floor(n)), code };
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wake?.();
    },
    async stop() {
      halt.abort();
      wake?.();
      await loop;
    },
    serverOptions,
    get polls() {
      return polls;
    },
  };
}
