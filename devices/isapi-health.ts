import type { Logger } from 'pino';
import { deviceRequest, DeviceRequestError } from './http-digest.js';
import { safeXmlReader, isXmlDoc } from './safe-xml.js';
import type { DeviceHealth, DeviceInfo, DeviceMeter, DraftEvent } from './types.js';

/**
 * Health that means usable, for Hikvision ISAPI devices (access controllers, ANPR cameras). They
 * push to us, so "pushed lately" says they are alive, not that the gateway can command them: a wrong
 * Digest password shows only when a guard tries to open a door. When the device has an `address`
 * and a `username`, this probe asks `GET /ISAPI/System/deviceInfo` every `pollMs` with Digest
 * (Hikvision ISAPI core protocol, "System/deviceInfo": `DeviceInfo` with deviceName, model,
 * serialNumber, firmwareVersion). 401/403 → `auth-failed` at once; an answer → usable, with make,
 * model and firmware; no answer → only the push side decides online/offline.
 */
export interface IsapiHealthOptions {
  deviceId: string;
  address?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** 0 = no probe. */
  pollMs: number;
  requestTimeoutMs: number;
  offlineAfterMs: number;
  log: Logger;
  meter?: DeviceMeter | undefined;
  emit(draft: DraftEvent): Promise<void>;
  /** Health from the push side (heard from within offlineAfterMs). */
  pushHealth(): DeviceHealth;
}

export interface IsapiHealth {
  start(): void;
  stop(): void;
  health(): DeviceHealth;
  /** One probe now (tests, and the first one at start). */
  probe(): Promise<void>;
}

const MAX_ANSWER = 64 * 1024;
const readXml = safeXmlReader({ maxBytes: MAX_ANSWER, maxDepth: 8 });
/** Printable, one line, ≤ 64 characters: device text ends up on screens and in logs. */
const clean = (v: unknown): string | undefined =>
  typeof v === 'string' || typeof v === 'number' ? String(v).replace(/[^\x20-\x7e\u00a0-\uffff]/g, ' ').trim().slice(0, 64) || undefined : undefined;

/** The `DeviceInfo` of an ISAPI answer; undefined when the body is not one. */
export function parseIsapiDeviceInfo(body: Buffer): DeviceInfo | undefined {
  const parsed = readXml(body);
  if (!parsed.ok) return undefined;
  const d = parsed.doc.DeviceInfo;
  if (!isXmlDoc(d)) return undefined;
  const info: DeviceInfo = {
    manufacturer: clean(d.manufacturer) ?? 'Hikvision',
    model: clean(d.model),
    firmware: [clean(d.firmwareVersion), clean(d.firmwareReleasedDate)].filter(Boolean).join(' ') || undefined,
    serial: clean(d.serialNumber),
    hardwareId: clean(d.hardwareVersion),
  };
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as DeviceInfo;
}

export function createIsapiHealth(o: IsapiHealthOptions): IsapiHealth {
  const enabled = o.pollMs > 0 && o.address !== undefined && o.username !== undefined;
  let authFailed = false;
  let lastOk: number | undefined;
  let info: DeviceInfo | undefined;
  let error: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const stopping = new AbortController();

  async function probe(): Promise<void> {
    if (!enabled) return;
    const url = `${o.address}/ISAPI/System/deviceInfo`;
    let outcome: 'ok' | 'auth-failed' | 'timeout' | 'error' = 'error';
    try {
      const res = await deviceRequest({
        method: 'GET', url, username: o.username, password: o.password, deadlineMs: o.requestTimeoutMs, maxResponseBytes: MAX_ANSWER, signal: stopping.signal,
      });
      if (res.status === 401 || res.status === 403) {
        outcome = 'auth-failed';
        return await refused(`GET /ISAPI/System/deviceInfo: HTTP ${res.status}, the device refused the credentials`);
      }
      outcome = 'ok';
      // Any other answer proves the credentials (Digest ran); old firmware may lack deviceInfo (404).
      if (res.status === 200) info = parseIsapiDeviceInfo(res.body) ?? info;
      lastOk = Date.now();
      error = undefined;
      if (authFailed) {
        authFailed = false;
        o.log.info('device accepts the credentials again');
        await emitSafe({ type: 'device.online', ts: Date.now(), data: {} });
      }
    } catch (err) {
      if (err instanceof DeviceRequestError && err.kind === 'aborted') return;
      outcome = err instanceof DeviceRequestError && err.kind === 'timeout' ? 'timeout' : 'error';
      error = (err instanceof Error ? err.message : String(err)).slice(0, 200);
    } finally {
      if (!stopping.signal.aborted) o.meter?.request('deviceInfo', outcome);
    }
  }

  async function refused(reason: string): Promise<void> {
    error = reason;
    if (authFailed) return;
    authFailed = true;
    o.log.error({ err: reason }, `device ${o.deviceId} refuses the configured credentials: check devices[${o.deviceId}].options.username / password, then reload the gateway`);
    await emitSafe({ type: 'device.offline', ts: Date.now(), data: { reason, state: 'auth-failed' } });
  }

  async function emitSafe(draft: DraftEvent): Promise<void> {
    try {
      await o.emit(draft);
    } catch (err) {
      o.log.warn({ err, type: draft.type }, 'gateway did not accept the event');
    }
  }

  function schedule(): void {
    timer = setTimeout(() => void probe().finally(() => running && schedule()), o.pollMs);
  }

  return {
    probe,
    start() {
      if (!enabled) return;
      running = true;
      void probe().finally(() => running && schedule());
    },
    stop() {
      running = false;
      clearTimeout(timer);
      stopping.abort();
    },
    health() {
      const push = o.pushHealth();
      const extra = { ...(info ? { info } : {}) };
      if (authFailed) return { online: false, state: 'auth-failed', lastSeen: push.lastSeen, ...(error ? { error } : {}), ...extra };
      const online = push.online || (lastOk !== undefined && Date.now() - lastOk <= o.offlineAfterMs);
      const lastSeen = Math.max(push.lastSeen ?? 0, lastOk ?? 0) || undefined;
      return { online, state: online ? 'online' : 'offline', lastSeen, ...(!online && error ? { error } : {}), ...extra };
    },
  };
}
