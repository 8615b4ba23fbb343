/**
 * Personal data minimised per role (DESIGN.md, docs/alerts.md "People, roles, scopes"): volunteers and
 * patrols see plates masked and hashes shortened; center and admin see full values (and the API audits
 * those reads). Hashes are never reversed anywhere: there is nothing to reverse them with.
 */

import type { Role } from '../../protocol/api.js';

export type { Role };

const PREFIX = /^(\p{Script=Han})([A-Z])$/u;
const MAX_DEPTH = 16;
/**
 * Names of people an alert view carries (who acknowledged, resolved, is assigned; who did what in its
 * timeline); reduced for volunteers. An `assigned` timeline entry carries the assignee's name in `text`.
 */
const NAME_FIELDS = new Set(['acknowledgedByName', 'resolvedByName', 'assigneeName', 'actorName']);

/**
 * Mask a licence plate: `苏A12345` → `苏A·1**45`, `粤BD12345` → `粤B·D***45`. The province character
 * and the issuing-office letter name a city, not a car, and stay; of the serial after them at most the
 * first and the last two characters show, always with at least two stars, so at most four letters or
 * digits (office letter included) are ever revealed. A plate without that prefix is masked as a serial.
 */
export function maskPlate(plate: string): string {
  const chars = Array.from(plate.replace(/[·•.\s-]/g, ''));
  const head = chars.slice(0, 2).join('');
  const hasPrefix = chars.length >= 2 && PREFIX.test(head);
  const serial = hasPrefix ? chars.slice(2) : chars;
  const n = serial.length;
  let masked: string;
  if (n >= 5) masked = serial[0]! + '*'.repeat(n - 3) + serial.slice(-2).join('');
  else if (n === 4) masked = `${serial[0]}**${serial[3]}`;
  else if (n === 3) masked = `**${serial[2]}`;
  else masked = '*'.repeat(n);
  return hasPrefix ? `${head}·${masked}` : masked;
}

/** Reduce a name to its first character: `张三丰` → `张**`; a one-character name shows none. */
export function reduceName(name: string): string {
  const chars = Array.from(name.trim());
  if (chars.length <= 1) return '*'.repeat(chars.length);
  return chars[0]! + '*'.repeat(Math.min(chars.length - 1, 3));
}

/** A credential or person hash, shortened to its first 6 characters. */
export const shortHash = (hash: string): string => (hash.length > 6 ? `${hash.slice(0, 6)}…` : hash);

/** Whether a role sees personal data in full. Unknown roles are masked. */
export const seesFullData = (role: string): boolean => role === 'center' || role === 'admin';

/**
 * Mask the personal data in an alert or an event for `role`: every string field named `plate`
 * (and every string in a `plates` array), `person` and `credential` anywhere in the value, and the
 * people's names of an alert view (`acknowledgedByName`, `resolvedByName`, `assigneeName`, a timeline's
 * `actorName` and an `assigned` entry's `text`, reduced). Full
 * roles get the value itself; others a copy. Never modifies its input.
 */
export function maskForRole<T>(role: Role | string, value: T): T {
  if (seesFullData(role)) return value;
  return mask(value, 0) as T;
}

function mask(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '…'; // deeper than any alert or event: drop rather than leak
  if (Array.isArray(value)) return value.map((v) => mask(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' && k === 'plate') out[k] = maskPlate(v);
    else if (typeof v === 'string' && (k === 'person' || k === 'credential')) out[k] = shortHash(v);
    else if (typeof v === 'string' && NAME_FIELDS.has(k)) out[k] = reduceName(v);
    else if (typeof v === 'string' && k === 'text' && (value as { kind?: unknown }).kind === 'assigned') out[k] = reduceName(v);
    else if (k === 'plates' && Array.isArray(v)) out[k] = v.map((p) => (typeof p === 'string' ? maskPlate(p) : mask(p, depth + 1)));
    else out[k] = mask(v, depth + 1);
  }
  return out;
}

/**
 * What a live push carries to screens that may not see personal data (volunteers, patrols): the
 * message as a volunteer may see it. Screens with full rights get the message itself.
 */
export const maskLiveData = <T>(_event: string, data: T): T => maskForRole('volunteer', data);
