import type { Logger } from '../../lib/log.js';
import { isapiRefusal, ISAPI_XMLNS, parseResponseStatus, toCommandError } from '../access-gate/isapi-commands.js';
import { deviceRequest } from '../http-digest.js';
import { DeviceCommandError, type DriverCommand } from '../types.js';

/**
 * Commands to a Hikvision entrance/exit ANPR camera over ISAPI, HTTP Digest (devices/http-digest.ts).
 *
 * Wire facts (facts only, no code taken from any source):
 *  [BARRIER] `PUT /ISAPI/Parking/channels/{lane}/barrierGate` with `<BarrierGate><ctrlMode>` one of
 *            open, close, lock, unlock (Hikvision "Intelligent Security API (ANPR) Developer Guide",
 *            chapter "Control Barrier Gate Status"). Spellings checked against independent
 *            integrations that send it to DS-TCG405-E / DS-TCG406-E cameras (one captured from the
 *            camera's own web UI, firmware V5.4.0), both with and without the isapi.org namespace.
 *  [LISTS]   The camera's allow/block list ("Configure Blacklist and Whitelist ANPR Alarm", same guide):
 *            `PUT /ISAPI/Traffic/channels/{ch}/licensePlateAuditData/record?format=json` with
 *            `{"LicensePlateInfoList":[{"id","LicensePlate","listType","createTime","effectiveTime",
 *            "operationType"}]}`, listType `allowList` / `blockList` (older firmware: whiteList /
 *            blackList); `PUT /ISAPI/Traffic/channels/{ch}/DelLicensePlateAuditData?format=json` with
 *            `{"id":[...],"deleteAllEnabled":false}` deletes by id. Field names as sent by several
 *            published integrations against DS-TCG4xx cameras. `deleteAllEnabled: true` to clear a
 *            list is inferred from the field's name; no vendor text describing it was found.
 *  [RS]      Every answer is an ISAPI ResponseStatus; statusCode 1 is OK (see isapi-commands.ts). The
 *            HTTP status of a refusal varies by firmware, so the body decides.
 */
export const CTRL_MODES = { 'barrier.open': 'open', 'barrier.close': 'close' } as const;
export type CtrlMode = (typeof CTRL_MODES)[keyof typeof CTRL_MODES];

export const barrierGatePath = (lane: number): string => `/ISAPI/Parking/channels/${lane}/barrierGate`;
export const listRecordPath = (ch: number): string => `/ISAPI/Traffic/channels/${ch}/licensePlateAuditData/record?format=json`;
export const listDeletePath = (ch: number): string => `/ISAPI/Traffic/channels/${ch}/DelLicensePlateAuditData?format=json`;

export function barrierGateXml(mode: CtrlMode): string {
  return `<?xml version="1.0" encoding="UTF-8"?><BarrierGate version="2.0" xmlns="${ISAPI_XMLNS}"><ctrlMode>${mode}</ctrlMode></BarrierGate>`;
}

/** Records per list PUT: keeps each request small on cameras with little memory. */
export const LIST_BATCH = 200;
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface PlateRecord {
  id: string;
  LicensePlate: string;
  listType: 'allowList' | 'blockList';
  createTime: string;
  effectiveTime: string;
  operationType: 'add';
}

/** ISAPI local time without offset, as the list records carry it. */
const isapiLocal = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

/** The records for a replace: allow first, then block; a plate on both lists is blocked. */
export function plateRecords(allow: readonly string[], block: readonly string[], now: number): PlateRecord[] {
  const blocked = new Set(block);
  const rec = (plate: string, listType: PlateRecord['listType']): PlateRecord => ({
    id: plate,
    LicensePlate: plate,
    listType,
    createTime: isapiLocal(now),
    effectiveTime: '2099-12-31T23:59:59',
    operationType: 'add',
  });
  return [...new Set(allow)].filter((p) => !blocked.has(p)).map((p) => rec(p, 'allowList')).concat([...blocked].map((p) => rec(p, 'blockList')));
}

export interface AnprControlOptions {
  deviceId: string;
  address?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  listChannel: number;
  commandTimeoutMs: number;
  log: Logger;
}

export type AnprCommandResult = { lane: number; ctrlMode: CtrlMode } | { allow: number; block: number; requests: number };

const failed = (message: string): DeviceCommandError => new DeviceCommandError('RB_ERR_DEVICE_FAILED', message);

/** `execute` for barrier and list commands: each request's outcome read from its ResponseStatus. */
export function createAnprControl(o: AnprControlOptions): (command: DriverCommand) => Promise<AnprCommandResult> {
  const base = o.address?.replace(/\/+$/, '');

  async function put(path: string, body: string, contentType: string, signal: AbortSignal): Promise<void> {
    const res = await deviceRequest({
      method: 'PUT',
      url: `${base}${path}`,
      body,
      contentType,
      username: o.username,
      password: o.password,
      deadlineMs: o.commandTimeoutMs,
      maxResponseBytes: MAX_ANSWER_BYTES,
      signal,
    });
    if (res.status !== 200 || parseResponseStatus(res.body)?.statusCode !== 1) throw isapiRefusal(res, o.username !== undefined, 'camera');
  }

  async function run(command: DriverCommand): Promise<AnprCommandResult> {
    if (command.name === 'barrier.open' || command.name === 'barrier.close') {
      const lane = command.args.lane ?? 1;
      if (typeof lane !== 'number' || !Number.isInteger(lane) || lane < 1 || lane > 16) throw failed('args.lane must be an integer 1..16');
      const ctrlMode = CTRL_MODES[command.name];
      await put(barrierGatePath(lane), barrierGateXml(ctrlMode), 'application/xml; charset="UTF-8"', command.signal);
      return { lane, ctrlMode };
    }
    if (command.name === 'plates.set') {
      const { allow = [], block = [] } = command.args as { allow?: unknown; block?: unknown };
      const plates = (v: unknown): v is string[] => Array.isArray(v) && v.every((p) => typeof p === 'string');
      if (!plates(allow) || !plates(block)) throw failed('args.allow and args.block must be arrays of plates');
      const records = plateRecords(allow, block, Date.now());
      // Replace = clear, then add in batches. Not atomic: for the moment in between the camera has no
      // list and its own auto-open for allowList plates does not fire (the gateway's decision still does).
      const json = 'application/json; charset="UTF-8"';
      await put(listDeletePath(o.listChannel), JSON.stringify({ id: [], deleteAllEnabled: true }), json, command.signal);
      let requests = 1;
      for (let i = 0; i < records.length; i += LIST_BATCH) {
        await put(listRecordPath(o.listChannel), JSON.stringify({ LicensePlateInfoList: records.slice(i, i + LIST_BATCH) }), json, command.signal);
        requests += 1;
      }
      const allowed = records.filter((r) => r.listType === 'allowList').length;
      return { allow: allowed, block: records.length - allowed, requests };
    }
    throw failed(`command ${command.name} is not supported by this driver`);
  }

  return async (command) => {
    if (base === undefined) {
      throw failed(`no camera address configured: set devices[].options.address (e.g. http://192.168.1.20) for device ${o.deviceId}`);
    }
    if (command.signal.aborted) throw new DeviceCommandError('RB_ERR_DEVICE_TIMEOUT', 'command deadline passed before it was sent to the camera');
    const started = Date.now();
    const fields = { command: command.id, name: command.name };
    try {
      const result = await run(command);
      o.log.info({ ...fields, ...result, ms: Date.now() - started }, 'anpr command done');
      return result;
    } catch (err) {
      const e = toCommandError(err, o.commandTimeoutMs, 'camera');
      o.log.warn({ ...fields, code: e.code, reason: e.message, ms: Date.now() - started }, 'anpr command failed');
      throw e;
    }
  };
}
