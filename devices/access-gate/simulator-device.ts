import type { Logger } from '../../lib/log.js';
import { safeXmlReader } from '../safe-xml.js';
import { responseStatusXml, startDigestServer, type DeviceRequest, type DeviceServer, type ListenOptions } from '../sim/digest-server.js';
import { ISAPI_DOOR_CMDS, type IsapiDoorCmd } from './isapi-commands.js';

/**
 * The device side of ISAPI remote door control, for the access-gate simulator: answers
 * `PUT /ISAPI/AccessControl/RemoteControl/door/{n}` behind HTTP Digest like a Hikvision controller
 * (sim/digest-server.ts), validates the `RemoteControlDoor` XML and answers an ISAPI
 * `ResponseStatus` (wire facts and sources: isapi-commands.ts).
 */
/** Default realm "DS-K1T671MF". */
export interface DeviceListenOptions extends ListenOptions {
  /** Digest algorithms offered, preferred first (a WWW-Authenticate header each). Default ["MD5"]. */
  algorithms?: ReadonlyArray<'MD5' | 'SHA-256'> | undefined;
  /** After an `open`, push a door.opened event (minor 0x19) like a door that then opens. Default true. */
  pushOnOpen?: boolean | undefined;
}

export interface DoorExecution {
  door: number;
  cmd: IsapiDoorCmd;
  at: number;
}

/** Knobs shared with the simulator, so they can be set before or after `listen`. */
export interface DeviceState {
  executions: DoorExecution[];
  failNext: number;
  delayMs: number;
}

export { responseStatusXml, type DeviceServer };

const DOOR_PATH = /^\/ISAPI\/AccessControl\/RemoteControl\/door\/(\d{1,5})$/;
const MAX_BODY = 16 * 1024;

const readXml = safeXmlReader({ maxBytes: MAX_BODY, maxDepth: 8 });

function readCmd(body: string): IsapiDoorCmd | 'bad-format' | 'bad-content' {
  const parsed = readXml(body);
  if (!parsed.ok) return 'bad-format';
  const root = parsed.doc.RemoteControlDoor;
  const cmd = typeof root === 'object' && root !== null ? (root as { cmd?: unknown }).cmd : undefined;
  return typeof cmd === 'string' && (ISAPI_DOOR_CMDS as readonly string[]).includes(cmd) ? (cmd as IsapiDoorCmd) : 'bad-content';
}

export async function startDeviceServer(
  o: DeviceListenOptions & { doors: number; state: DeviceState; log: Logger; onExecuted(e: DoorExecution): void },
): Promise<DeviceServer> {
  async function handle({ method, url, body }: DeviceRequest, answer: (status: number, body: string) => void): Promise<void> {
    const m = DOOR_PATH.exec(url);
    if (!m) return answer(404, responseStatusXml(url, 4, 'Invalid Operation', 'notSupport'));
    if (method !== 'PUT') return answer(405, responseStatusXml(url, 4, 'Invalid Operation', 'methodNotAllowed'));
    const door = Number(m[1]);
    if (door < 1 || door > o.doors) return answer(400, responseStatusXml(url, 6, 'Invalid Content', 'badParameters'));
    const cmd = readCmd(body);
    if (cmd === 'bad-format') return answer(400, responseStatusXml(url, 5, 'Invalid XML Format', 'badXmlFormat'));
    if (cmd === 'bad-content') return answer(400, responseStatusXml(url, 6, 'Invalid XML Content', 'badXmlContent'));
    if (o.state.delayMs > 0) await new Promise((r) => setTimeout(r, o.state.delayMs));
    if (o.state.failNext > 0) {
      o.state.failNext -= 1;
      return answer(403, responseStatusXml(url, 4, 'Invalid Operation', 'invalidOperation'));
    }
    // Like a controller, it acts on a command it has read even if the caller has given up meanwhile.
    const execution = { door, cmd, at: Date.now() };
    o.state.executions.push(execution);
    answer(200, responseStatusXml(url, 1, 'OK', 'ok'));
    o.log.debug(execution, 'simulated door command executed');
    o.onExecuted(execution);
  }

  return startDigestServer({ ...o, realm: o.realm ?? 'DS-K1T671MF', maxBody: MAX_BODY, what: 'device', handle });
}
