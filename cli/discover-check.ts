import { networkInterfaces } from 'node:os';
import { cleanInfo, readDeviceInfo, type DeviceInfo } from '../devices/onvif-camera/device-info.js';
import type { DiscoveredCamera } from '../devices/onvif-camera/discovery.js';
import { OnvifOptions } from '../devices/onvif-camera/options.js';
import { OnvifSession } from '../devices/onvif-camera/session.js';
import { NS } from '../devices/onvif-camera/soap.js';
import { OnvifError, soapCall } from '../devices/onvif-camera/soap-client.js';

/**
 * What `red-butler discover` learns about each camera that answered the probe: its clock
 * (GetSystemDateAndTime, which ONVIF lets anyone call), then make and model (GetDeviceInformation)
 * with the installer's credentials — one authenticated call per camera, so a wrong password costs
 * one failed login, not a lockout — and, when there are none or they are refused, once more without
 * credentials, which some cameras answer.
 */
export type CredentialCheck = 'ok' | 'refused' | 'not-checked' | 'unreachable' | 'error';

export interface CheckedCamera {
  /** The device service URL the checks went to (the first XAddr inside the subnets). */
  address: string;
  endpoint: string;
  from: string;
  xaddrs: string[];
  scopes: string[];
  /** The camera's own name, from its onvif://www.onvif.org/name/ scope (ONVIF Core Spec §7.3.2.2). */
  name?: string | undefined;
  /** Camera clock minus ours, ms; absent when the camera did not tell. */
  clockOffsetMs?: number | undefined;
  /** Absent when the camera did not tell (it wants credentials, or they were refused). */
  info?: DeviceInfo | undefined;
  credentials: CredentialCheck;
  /** One line, never a credential. */
  error?: string | undefined;
}

export interface Credentials {
  username?: string | undefined;
  password?: string | undefined;
}

const toInt = (ip: string): number => ip.split('.').reduce((n, b) => (n << 8) + Number(b), 0) >>> 0;
const fromInt = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** "192.168.1.23/24" → "192.168.1.0/24". */
export function networkOf(cidr: string): string {
  const [ip, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return `${fromInt((toInt(ip) & mask) >>> 0)}/${bits}`;
}

/** This machine's IPv4 addresses with their interface and the block each sits in. */
export function localNetworks(): Array<{ iface: string; address: string; cidr: string; internal: boolean }> {
  return Object.entries(networkInterfaces()).flatMap(([iface, list]) =>
    (list ?? [])
      .filter((a) => a.family === 'IPv4' && a.cidr !== null)
      .map((a) => ({ iface, address: a.address, cidr: networkOf(a.cidr as string), internal: a.internal })),
  );
}

/** Sort key of a URL's host: IPv4 addresses in numeric order, then the port. */
export function addressOrder(url: string): number {
  const u = new URL(url);
  return /^\d+\.\d+\.\d+\.\d+$/.test(u.hostname) ? toInt(u.hostname) * 65_536 + Number(u.port || 80) : Number.MAX_SAFE_INTEGER;
}

function scopeName(scopes: readonly string[]): string | undefined {
  const prefix = 'onvif://www.onvif.org/name/';
  const scope = scopes.find((s) => s.startsWith(prefix));
  if (!scope) return undefined;
  let name = scope.slice(prefix.length);
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it as sent
  }
  return cleanInfo(name);
}

const oneLine = (err: unknown): string => (cleanInfo(err instanceof Error ? err.message : String(err)) ?? 'failed').slice(0, 200);
const known = (info: DeviceInfo): DeviceInfo | undefined => (Object.keys(info).length > 0 ? info : undefined);

/** GetDeviceInformation without a security header: answered only by cameras that allow it. */
async function anonymousInfo(o: OnvifOptions): Promise<DeviceInfo | undefined> {
  const res = await soapCall({
    url: o.address,
    action: `${NS.tds}/GetDeviceInformation`,
    body: `<GetDeviceInformation xmlns="${NS.tds}"/>`,
    clockOffsetMs: 0,
    deadlineMs: o.requestTimeoutMs,
    maxResponseBytes: o.maxResponseBytes,
  });
  return known(readDeviceInfo(res));
}

export async function checkCamera(cam: DiscoveredCamera, creds: Credentials, requestTimeoutMs: number): Promise<CheckedCamera> {
  const address = cam.xaddrs[0] as string;
  const base = { address, endpoint: cam.endpoint, from: cam.from, xaddrs: cam.xaddrs, scopes: cam.scopes, name: scopeName(cam.scopes) };
  // Without --username the session only makes the unauthenticated clock call; the name is a stand-in.
  const parsed = OnvifOptions.safeParse({ address, username: creds.username ?? 'anonymous', password: creds.password ?? '', requestTimeoutMs });
  if (!parsed.success) return { ...base, credentials: 'error', error: `unusable device address: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  const session = new OnvifSession(parsed.data);
  let clockOffsetMs: number | undefined;
  try {
    clockOffsetMs = await session.syncClock();
  } catch (err) {
    // A camera that wants credentials even for its clock (not conformant, but sold) is still there.
    if (!(err instanceof OnvifError) || (err.kind !== 'auth' && err.kind !== 'fault')) return { ...base, credentials: 'unreachable', error: oneLine(err) };
  }
  let info: DeviceInfo | undefined;
  let credentials: CredentialCheck = 'not-checked';
  let error: string | undefined;
  if (creds.username !== undefined) {
    try {
      info = known(await session.deviceInformation());
      credentials = 'ok';
    } catch (err) {
      if (err instanceof OnvifError && err.kind === 'auth') credentials = 'refused';
      else [credentials, error] = ['error', oneLine(err)];
    }
  }
  if (info === undefined && credentials !== 'error' && credentials !== 'ok') info = await anonymousInfo(parsed.data).catch(() => undefined);
  return { ...base, clockOffsetMs, info, credentials, error };
}

/** Check every camera, `parallel` at a time, in address order. */
export async function checkAll(cams: readonly DiscoveredCamera[], creds: Credentials, requestTimeoutMs: number, parallel = 8): Promise<CheckedCamera[]> {
  const sorted = [...cams].sort((a, b) => addressOrder(a.xaddrs[0] as string) - addressOrder(b.xaddrs[0] as string));
  const out: CheckedCamera[] = new Array(sorted.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < sorted.length; i = next++) out[i] = await checkCamera(sorted[i] as DiscoveredCamera, creds, requestTimeoutMs);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, sorted.length) }, worker));
  return out;
}
