import type { z } from 'zod';
import type { AccessMethod, CommandName, DenyReason } from '../../protocol/index.js';
import type { DeviceProfile } from '../types.js';
import { ACCESS_GATE_EVENTS } from './profile.js';

/**
 * ZKTeco access-control event codes (the `event` field of an ADMS `rtlog` record) mapped to Red Butler
 * event types. Data only; zkteco-driver.ts does the lookup.
 *
 * Sources (facts only, nothing copied):
 *  [PUSH] ZKTeco, "Security PUSH Communication Protocol" (PUSH SDK, protocol 3.1.2, doc 2.3 Jan 2021 /
 *         2.9 Sep 2021), appendix "real-time event codes" and the `rtlog` / `rtstate` record fields.
 *  [PULL] ZKTeco "PullSDK Interfaces User Guide" v2.0 (2012), the RTLog event type table: the same
 *         numbers, as the controllers share one event list across PULL and PUSH firmware.
 *  [ZKA]  ZKAccess user manual, "Normal / Abnormal / Alarm events" (Door Opened Correctly, Opened
 *         Forcefully, Door Open Timeout, Tamper Alarm...): what each code means on the door.
 *  Cross-checked with the event-name table of an independent ADMS server, honghaijs6/PushSDK
 *  `src/middleware/iclock/ultils/constants.js` (0 "Normal Verify Open" ... 28 "Open Door Timeout",
 *  100 "Tamper alarm", 102 "Opened Forcefully", 200/201 "Door Opened/Closed Correctly").
 *
 * Not mapped (accepted, counted as ignored): 5 / 204 passage-mode time zone start/end, 6 linkage,
 * 7 cancel alarm, 8 / 9 remote open / close (our own commands, audited by the gateway), 10-13 normal-open
 * and auxiliary output switching, 26 multi-person wait, 101 duress, 105 / 214 / 700 server link,
 * 202 exit button, 206 device started, 220 / 221 auxiliary input. The *door* is reported by the door
 * sensor codes 200 / 201 whatever opened it.
 */
type Method = z.infer<typeof AccessMethod>;
type Reason = z.infer<typeof DenyReason>;

export type ZkCodeEntry =
  | { type: 'access.granted'; name: string }
  | { type: 'access.denied'; name: string; reason: Reason }
  | { type: 'door.opened' | 'door.closed' | 'door.forced' | 'door.held'; name: string }
  | { type: 'device.tamper'; name: string };

const granted = (name: string): ZkCodeEntry => ({ type: 'access.granted', name });
const denied = (name: string, reason: Reason): ZkCodeEntry => ({ type: 'access.denied', name, reason });

// A Map, not an object literal: a number from the network must never reach a prototype.
const TABLE: ReadonlyMap<number, ZkCodeEntry> = new Map<number, ZkCodeEntry>([
  [0, granted('Normal Verify Open')],
  [1, granted('Verify During Passage Mode Time Zone')],
  [2, granted('First-Personnel Open')],
  [3, granted('Multi-Personnel Open')],
  [4, granted('Emergency Password Open')],
  [20, denied('Operate Interval too Short', 'other')],
  [21, denied('Door Inactive Time Zone Verify Open', 'outside-schedule')],
  [22, denied('Illegal Time Zone', 'outside-schedule')],
  [23, denied('Access Denied', 'no-permission')],
  [24, denied('Anti-Passback', 'other')],
  [25, denied('Interlock', 'other')],
  [27, denied('Unregistered Personnel', 'unknown-credential')],
  [29, denied('Personnel Expired', 'expired')],
  [38, denied('Card Reported Lost', 'no-permission')],
  [39, denied('Blacklisted', 'no-permission')],
  [41, denied('Verify Mode Error', 'other')],
  [42, denied('Wiegand Format Error', 'unknown-credential')],
  [44, denied('Background Verify Failed', 'other')],
  [48, denied('Multi-Personnel Verify Failed', 'other')],
  [28, { type: 'door.held', name: 'Open Door Timeout' }], // open longer than the configured time [ZKA]
  [100, { type: 'device.tamper', name: 'Tamper Alarm' }], // the controller's case switch [ZKA]
  [102, { type: 'door.forced', name: 'Opened Forcefully' }], // sensor open without a granted access [ZKA]
  [200, { type: 'door.opened', name: 'Door Opened Correctly' }],
  [201, { type: 'door.closed', name: 'Door Closed Correctly' }],
]);

export function lookupZkCode(code: number): ZkCodeEntry | undefined {
  return TABLE.get(code);
}

/** Every mapped code, for docs and tests. */
export function allZkCodes(): Array<{ code: number; entry: ZkCodeEntry }> {
  return [...TABLE].map(([code, entry]) => ({ code, entry }));
}

/**
 * `verifytype` of an rtlog record [PUSH]: the verification the reader used, numbered like the verify
 * modes (1 fingerprint only, 3 password only, 4 card only, 15 face; 0 "card or fingerprint or password",
 * 200 "other" and the multi-factor values say nothing single). Unknown falls back to the card number.
 */
const VERIFY_TYPES: ReadonlyMap<number, Method> = new Map<number, Method>([
  [1, 'fingerprint'],
  [3, 'password'],
  [4, 'card'],
  [15, 'face'],
]);

export function methodFromVerifyType(verifytype: number | undefined, hasCard: boolean): Method {
  return (verifytype !== undefined && VERIFY_TYPES.get(verifytype)) || (hasCard ? 'card' : 'unknown');
}

/** What a ZKTeco ADMS controller reports and takes. No "always closed": the PUSH command set has no lockdown. */
export const ZKTECO_COMMANDS = ['door.open', 'door.close', 'door.alwaysOpen'] as const satisfies readonly CommandName[];
export type ZkCommand = (typeof ZKTECO_COMMANDS)[number];

export const zktecoProfile = Object.freeze({
  kind: 'access-gate',
  vendor: 'ZKTeco (ADMS push)',
  // The same events as every access gate; only the commands differ (no "always closed").
  events: ACCESS_GATE_EVENTS,
  commands: ZKTECO_COMMANDS,
} as const satisfies DeviceProfile);
