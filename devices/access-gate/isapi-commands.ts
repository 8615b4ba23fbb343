import type { Logger } from '../../lib/log.js';
import { deviceRequest, DeviceRequestError, type DeviceResponse } from '../http-digest.js';
import { safeXmlReader } from '../safe-xml.js';
import { DeviceCommandError, type DriverCommand } from '../types.js';
import type { AccessGateCommand } from './profile.js';

/**
 * Remote door control on Hikvision ISAPI access controllers and face terminals.
 *
 * Wire facts (no code taken from any of them):
 *  [ISAPI-AC] Hikvision, "Intelligent Security API (Person-Based Access Control) Developer Guide":
 *             `PUT /ISAPI/AccessControl/RemoteControl/door/<doorID>` with an XML `RemoteControlDoor`
 *             (version "2.0", namespace http://www.isapi.org/ver20/XMLSchema) whose `cmd` is one of
 *             `open`, `close`, `alwaysOpen`, `alwaysClose` (newer firmware adds `resume` and
 *             elevator-call values we do not use). Authentication is HTTP Digest.
 *  [ISAPI-RS] The ISAPI `ResponseStatus` answer: `statusCode` 1 OK, 2 Device Busy, 3 Device Error,
 *             4 Invalid Operation, 5 Invalid XML Format, 6 Invalid XML Content, 7 Reboot Required,
 *             with a finer `subStatusCode` ("ok", "invalidOperation", "badXmlContent", ...). The HTTP
 *             status of a refusal varies by firmware (400, 403, even 200), so the body decides.
 *  Independent integrations that send the same request and read the same answer, used to check the
 *  spellings: pergolafabio/Hikvision-Addons `doorbell/ISAPI.md` (open), VCTGomes/Hikvision-Door-
 *  Control-to-Hubitat (open), a DS-K1T105AM client and Home Assistant `rest_command` setups with
 *  digest auth (all four cmd values, version 2.0 + isapi.org namespace).
 */
export const DOOR_CMDS = {
  'door.open': 'open',
  'door.close': 'close',
  'door.alwaysOpen': 'alwaysOpen',
  'door.alwaysClosed': 'alwaysClose',
} as const satisfies Record<AccessGateCommand, string>;

export type IsapiDoorCmd = (typeof DOOR_CMDS)[AccessGateCommand];
export const ISAPI_DOOR_CMDS: readonly IsapiDoorCmd[] = Object.values(DOOR_CMDS);
export const ISAPI_XMLNS = 'http://www.isapi.org/ver20/XMLSchema';
/** Where the config key for the device URL lives, for error messages an installer can act on. */
export const ADDRESS_KEY = 'devices[].options.address';

export const remoteControlPath = (door: number): string => `/ISAPI/AccessControl/RemoteControl/door/${door}`;

export function remoteControlDoorXml(cmd: IsapiDoorCmd): string {
  return `<?xml version="1.0" encoding="UTF-8"?><RemoteControlDoor version="2.0" xmlns="${ISAPI_XMLNS}"><cmd>${cmd}</cmd></RemoteControlDoor>`;
}

/** Largest answer we read; a ResponseStatus is a few hundred bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024;

// devices/safe-xml.ts: no DTD, no entities, shallow documents only, values as plain strings.
const readXml = safeXmlReader({ maxBytes: MAX_ANSWER_BYTES, maxDepth: 16 });

export interface ResponseStatus {
  statusCode?: number | undefined;
  statusString?: string | undefined;
  subStatusCode?: string | undefined;
}

/** Short, single-line, printable: device text goes into results shown to people and into logs. */
const clean = (v: unknown): string | undefined =>
  typeof v === 'string' || typeof v === 'number' ? String(v).replace(/[^\x20-\x7e\u00a0-\uffff]/g, ' ').trim().slice(0, 100) || undefined : undefined;

/** The ISAPI ResponseStatus in an answer body, XML or (`?format=json` firmware) JSON. */
export function parseResponseStatus(body: Buffer): ResponseStatus | undefined {
  if (body.length === 0 || body.length > MAX_ANSWER_BYTES) return undefined;
  const text = body.toString('utf8').replace(/^\uFEFF/, '').trim();
  let doc: unknown;
  if (text.startsWith('<')) {
    // A DTD in an answer (an XXE / entity-expansion attempt) or malformed XML: not a ResponseStatus.
    const parsed = readXml(text);
    doc = parsed.ok ? parsed.doc : undefined;
  } else {
    try {
      doc = text.startsWith('{') ? JSON.parse(text) : undefined;
    } catch {
      return undefined;
    }
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const root = (doc as Record<string, unknown>).ResponseStatus ?? doc;
  if (typeof root !== 'object' || root === null) return undefined;
  const r = root as Record<string, unknown>;
  const code = clean(r.statusCode);
  const status: ResponseStatus = {
    statusCode: code !== undefined && /^\d{1,3}$/.test(code) ? Number(code) : undefined,
    statusString: clean(r.statusString),
    subStatusCode: clean(r.subStatusCode),
  };
  return status.statusCode === undefined && status.statusString === undefined ? undefined : status;
}

export interface DoorControlOptions {
  deviceId: string;
  address?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  commandTimeoutMs: number;
  log: Logger;
}

export type DoorResult = { door: number; cmd: IsapiDoorCmd };

const failed = (message: string): DeviceCommandError => new DeviceCommandError('RB_ERR_DEVICE_FAILED', message);

/** Who answers, in messages: a door controller is a "device", an ANPR camera a "camera". */
export type Who = 'device' | 'camera';

/** Why a device's answer is a refusal: 401 (with what to fix in the config), else its ResponseStatus. */
export function isapiRefusal(res: DeviceResponse, authenticated: boolean, who: Who = 'device'): DeviceCommandError {
  if (res.status === 401) {
    return failed(
      authenticated
        ? `${who} refused the username/password (HTTP 401 after Digest auth): check devices[].options.username and password`
        : `${who} requires authentication (HTTP 401): set devices[].options.username and password`,
    );
  }
  const s = parseResponseStatus(res.body);
  if (!s) return failed(`${who} answered HTTP ${res.status} without an ISAPI ResponseStatus`);
  const what = [s.statusString ?? 'error', s.subStatusCode && `(${s.subStatusCode})`].filter(Boolean).join(' ');
  return failed(`${who} refused: ${what}; statusCode ${s.statusCode ?? '?'}, HTTP ${res.status}`);
}

/** `execute` for ISAPI door commands: one PUT per command, its outcome read from the ResponseStatus. */
export function createDoorControl(o: DoorControlOptions): (command: DriverCommand) => Promise<DoorResult> {
  const base = o.address?.replace(/\/+$/, '');
  return async (command) => {
    if (!Object.hasOwn(DOOR_CMDS, command.name)) throw failed(`command ${command.name} is not supported by this driver`);
    const cmd = DOOR_CMDS[command.name as AccessGateCommand];
    const door = command.args.door ?? 1;
    if (typeof door !== 'number' || !Number.isInteger(door) || door < 1 || door > 64) throw failed('args.door must be an integer 1..64');
    if (base === undefined) {
      throw failed(`no device address configured: set ${ADDRESS_KEY} (e.g. http://192.168.1.10) for device ${o.deviceId}`);
    }
    if (command.signal.aborted) {
      throw new DeviceCommandError('RB_ERR_DEVICE_TIMEOUT', 'command deadline passed before it was sent to the device');
    }
    const started = Date.now();
    const fields = { command: command.id, name: command.name, door, cmd };
    try {
      const res = await deviceRequest({
        method: 'PUT',
        url: base + remoteControlPath(door),
        body: remoteControlDoorXml(cmd),
        contentType: 'application/xml; charset="UTF-8"',
        username: o.username,
        password: o.password,
        deadlineMs: o.commandTimeoutMs,
        maxResponseBytes: MAX_ANSWER_BYTES,
        signal: command.signal,
      });
      if (res.status !== 200 || parseResponseStatus(res.body)?.statusCode !== 1) throw isapiRefusal(res, o.username !== undefined);
      o.log.info({ ...fields, ms: Date.now() - started }, 'isapi door command done');
      return { door, cmd };
    } catch (err) {
      const e = toCommandError(err, o.commandTimeoutMs);
      o.log.warn({ ...fields, code: e.code, reason: e.message, ms: Date.now() - started }, 'isapi door command failed');
      throw e;
    }
  };
}

/** Any failure of an ISAPI request → the DeviceCommandError the gateway reports. */
export function toCommandError(err: unknown, timeoutMs: number, who: Who = 'device'): DeviceCommandError {
  if (err instanceof DeviceCommandError) return err;
  if (err instanceof DeviceRequestError) {
    // Outcome unknown: the device may have acted on a request it never answered.
    if (err.kind === 'timeout') return new DeviceCommandError('RB_ERR_DEVICE_TIMEOUT', `${who} did not answer within ${timeoutMs} ms; it may still have acted`);
    if (err.kind === 'aborted') return new DeviceCommandError('RB_ERR_DEVICE_TIMEOUT', `command deadline reached before the ${who} answered; it may still have acted`);
    return failed(`${who} request failed: ${err.message}`);
  }
  return failed(`${who} request failed: ${err instanceof Error ? err.message : String(err)}`);
}
