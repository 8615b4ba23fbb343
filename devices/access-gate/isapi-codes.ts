import type { z } from 'zod';
import type { AccessMethod, DenyReason } from '../../protocol/index.js';

/**
 * Hikvision access-control event codes (`majorEventType` / `subEventType` of an ISAPI
 * `AccessControllerEvent`) mapped to Red Butler event types. Data only; the driver does the lookup.
 *
 * Sources (facts only, nothing copied):
 *  [SDK]  HCNetSDK macro list for NET_DVR_ACS_ALARM_INFO (MAJOR_* / MINOR_*), Hikvision open platform,
 *         https://open.hikvision.com/hardware/structures/NET_DVR_ACS_ALARM_INFO.html — the same values are
 *         in the CHCNetSDK.cs / HCNetSDK.java headers shipped with the SDK demos. ISAPI carries them as
 *         decimal numbers (e.g. `"subEventType": 75` is 0x4b).
 *  [HEOP] Hikvision's HEOP person-source demo (Apache-2.0), `proto/.../param/EventType.kt`: the codes
 *         newer terminals use for password and QR-code verification (0x96, 0x97, 0x9c, 0x9d, 0xb5).
 *  [CN]   The Chinese SDK demo names MINOR_CASE_SENSOR_ALARM (0x408) "事件输入报警" (event input
 *         alarm): an auxiliary alarm input, not the enclosure switch. It is therefore NOT mapped to
 *         tamper; the tamper ("防拆", desmantle) codes are 0x404 / 0x406 / 0x40f.
 *
 * Every code DESIGN.md names agrees with [SDK]: card pass 0x01, face pass 0x4b, face fail 0x4c,
 * door open/close 0x19/0x1a, forced 0x1b, held open 0x1c, tamper major 1 minor 0x404.
 *
 * Multi-factor passes report the first factor that is a credential (card, face, fingerprint...);
 * an employee number typed on the keypad identifies a person but proves nothing, so it is skipped.
 * A failed multi-factor check does not say which factor failed, so its reason is 'other'.
 * `method: 'unknown'` means the code does not say; the driver then looks at `currentVerifyMode`.
 */

type Method = z.infer<typeof AccessMethod>;
type Reason = z.infer<typeof DenyReason>;

/** Which part of the controller a tamper switch guards; the driver turns it into `zone`. */
export type TamperPart = 'controller' | 'reader' | 'security-module';

export type CodeEntry =
  | { type: 'access.granted'; sdk: string; method: Method }
  | { type: 'access.denied'; sdk: string; method: Method; reason: Reason }
  | { type: 'door.opened' | 'door.closed' | 'door.forced' | 'door.held'; sdk: string }
  | { type: 'device.tamper'; sdk: string; part: TamperPart };

/** `majorEventType` values [SDK]. Only ALARM and EVENT carry anything we report. */
export const MAJOR = { ALARM: 0x1, EXCEPTION: 0x2, OPERATION: 0x3, EVENT: 0x5 } as const;

const granted = (sdk: string, method: Method): CodeEntry => ({ type: 'access.granted', sdk, method });
const denied = (sdk: string, method: Method, reason: Reason): CodeEntry => ({
  type: 'access.denied',
  sdk,
  method,
  reason,
});

/** Major 5 (MAJOR_EVENT) minors. */
const EVENT_MINORS: ReadonlyArray<readonly [number, CodeEntry]> = [
  // Granted [SDK] unless marked.
  [0x01, granted('MINOR_LEGAL_CARD_PASS', 'card')],
  [0x02, granted('MINOR_CARD_AND_PSW_PASS', 'card')],
  [0x10, granted('MINOR_MULTI_VERIFY_SUCCESS', 'unknown')],
  [0x26, granted('MINOR_FINGERPRINT_COMPARE_PASS', 'fingerprint')],
  [0x28, granted('MINOR_CARD_FINGERPRINT_VERIFY_PASS', 'card')],
  [0x2b, granted('MINOR_CARD_FINGERPRINT_PASSWD_VERIFY_PASS', 'card')],
  [0x2e, granted('MINOR_FINGERPRINT_PASSWD_VERIFY_PASS', 'fingerprint')],
  [0x36, granted('MINOR_FACE_AND_FP_VERIFY_PASS', 'face')],
  [0x39, granted('MINOR_FACE_AND_PW_VERIFY_PASS', 'face')],
  [0x3c, granted('MINOR_FACE_AND_CARD_VERIFY_PASS', 'face')],
  [0x3f, granted('MINOR_FACE_AND_PW_AND_FP_VERIFY_PASS', 'face')],
  [0x42, granted('MINOR_FACE_CARD_AND_FP_VERIFY_PASS', 'face')],
  [0x45, granted('MINOR_EMPLOYEENO_AND_FP_VERIFY_PASS', 'fingerprint')],
  [0x48, granted('MINOR_EMPLOYEENO_AND_FP_AND_PW_VERIFY_PASS', 'fingerprint')],
  [0x4b, granted('MINOR_FACE_VERIFY_PASS', 'face')],
  [0x4d, granted('MINOR_EMPLOYEENO_AND_FACE_VERIFY_PASS', 'face')],
  [0x65, granted('MINOR_EMPLOYEENO_AND_PW_PASS', 'password')],
  [0x99, granted('MINOR_COMBINED_VERIFY_PASS', 'unknown')],
  [0x9c, granted('MINOR_ORCODE_VERIFY_PASS', 'qr')], // [HEOP]
  [0xb5, granted('MINOR_PASSWD_VERIFY_PASS', 'password')], // [HEOP]

  // Denied [SDK] unless marked.
  [0x03, denied('MINOR_CARD_AND_PSW_FAIL', 'card', 'other')],
  [0x06, denied('MINOR_CARD_NO_RIGHT', 'card', 'no-permission')],
  [0x07, denied('MINOR_CARD_INVALID_PERIOD', 'card', 'outside-schedule')],
  [0x08, denied('MINOR_CARD_OUT_OF_DATE', 'card', 'expired')],
  [0x09, denied('MINOR_INVALID_CARD', 'card', 'unknown-credential')],
  [0x0a, denied('MINOR_ANTI_SNEAK_FAIL', 'card', 'other')], // anti-passback
  [0x27, denied('MINOR_FINGERPRINT_COMPARE_FAIL', 'fingerprint', 'unknown-credential')],
  [0x29, denied('MINOR_CARD_FINGERPRINT_VERIFY_FAIL', 'card', 'other')],
  [0x31, denied('MINOR_FINGERPRINT_INEXISTENCE', 'fingerprint', 'unknown-credential')],
  [0x37, denied('MINOR_FACE_AND_FP_VERIFY_FAIL', 'face', 'other')],
  [0x3a, denied('MINOR_FACE_AND_PW_VERIFY_FAIL', 'face', 'other')],
  [0x3d, denied('MINOR_FACE_AND_CARD_VERIFY_FAIL', 'face', 'other')],
  [0x4c, denied('MINOR_FACE_VERIFY_FAIL', 'face', 'face-mismatch')],
  [0x4e, denied('MINOR_EMPLOYEENO_AND_FACE_VERIFY_FAIL', 'face', 'face-mismatch')],
  [0x50, denied('MINOR_FACE_RECOGNIZE_FAIL', 'face', 'face-mismatch')],
  [0x71, denied('MINOR_CERTIFICATE_BLACK_LIST', 'unknown', 'no-permission')],
  [0x75, denied('MINOR_DOOR_OPEN_OR_DORMANT_FAIL', 'unknown', 'outside-schedule')], // door held closed / dormant
  [0x96, denied('MINOR_PSW_VERIFY_FAIL', 'password', 'unknown-credential')], // [HEOP]
  [0x97, denied('MINOR_PASSWORD_MISMATCH', 'password', 'unknown-credential')],
  [0x98, denied('MINOR_EMPLOYEE_NO_NOT_EXIST', 'unknown', 'unknown-credential')],
  [0x9b, denied('MINOR_VERIFY_MODE_MISMATCH', 'unknown', 'other')],
  [0x9d, denied('MINOR_ORCODE_VERIFY_FAIL', 'qr', 'unknown-credential')], // [HEOP]

  // Door contact (magnetic sensor) [SDK].
  [0x19, { type: 'door.opened', sdk: 'MINOR_DOOR_OPEN_NORMAL' }],
  [0x1a, { type: 'door.closed', sdk: 'MINOR_DOOR_CLOSE_NORMAL' }],
  [0x1b, { type: 'door.forced', sdk: 'MINOR_DOOR_OPEN_ABNORMAL' }], // opened without a granted access
  [0x1c, { type: 'door.held', sdk: 'MINOR_DOOR_OPEN_TIMEOUT' }], // open longer than the configured time
];

/** Major 1 (MAJOR_ALARM) minors [SDK]. The *_RESUME codes (0x405, 0x407, 0x410) are not events for us. */
const ALARM_MINORS: ReadonlyArray<readonly [number, CodeEntry]> = [
  [0x404, { type: 'device.tamper', sdk: 'MINOR_HOST_DESMANTLE_ALARM', part: 'controller' }],
  [0x406, { type: 'device.tamper', sdk: 'MINOR_CARD_READER_DESMANTLE_ALARM', part: 'reader' }],
  [0x40f, { type: 'device.tamper', sdk: 'MINOR_SECURITY_MODULE_DESMANTLE_ALARM', part: 'security-module' }],
];

// Maps, not object literals: a lookup by a number from the network must never reach a prototype.
const TABLE: ReadonlyMap<number, ReadonlyMap<number, CodeEntry>> = new Map([
  [MAJOR.EVENT, new Map(EVENT_MINORS)],
  [MAJOR.ALARM, new Map(ALARM_MINORS)],
]);

/** The mapping of one vendor code, or `undefined` when we do not report it. */
export function lookupCode(major: number, minor: number): CodeEntry | undefined {
  return TABLE.get(major)?.get(minor);
}

/** Every mapped code, for docs and tests. */
export function allCodes(): Array<{ major: number; minor: number; entry: CodeEntry }> {
  const out: Array<{ major: number; minor: number; entry: CodeEntry }> = [];
  for (const [major, minors] of TABLE) for (const [minor, entry] of minors) out.push({ major, minor, entry });
  return out;
}

/**
 * ISAPI `currentVerifyMode` names the reader's configured mode ("cardOrFace", "faceOrFpOrCardOrPw",
 * "card", ...), not the factor that was used. Only a single-factor mode tells us the method.
 */
const SINGLE_FACTOR_MODES: ReadonlyMap<string, Method> = new Map([
  ['card', 'card'],
  ['face', 'face'],
  ['fp', 'fingerprint'],
  ['pw', 'password'],
]);

export function methodFromVerifyMode(mode: unknown): Method {
  return (typeof mode === 'string' && SINGLE_FACTOR_MODES.get(mode)) || 'unknown';
}
