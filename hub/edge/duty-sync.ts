import type { Logger } from 'pino';
import { DutyList, type DutyPerson, type GatewayStatus } from '../../protocol/index.js';
import type { Commands } from '../commands/service.js';
import type { Roster } from '../people/roster.js';
import type { User } from '../people/users.js';
import { localTime, toMinute, zonedInstant } from '../../lib/zoned.js';

/**
 * The hub's side of the edge's own warnings (issue 17 item 6): each gateway gets its estate's duty
 * list (command `gateway.duty.set` to the gateway's own id, docs/protocol.md), so that while the hub is
 * unreachable it can text the people on duty through its local modem.
 *
 * The weekly roster is expanded into absolute windows over `horizonHours` (the gateway needs no
 * calendar or time zone), so the list must be renewed before it runs out: on every gateway (re)connect
 * and every `everyMs`. The standby people, texted when nobody is on duty, are the estate's volunteers
 * (the hub's escalation level 1).
 */

export interface DutyContact {
  phone: string;
  lang: 'zh-CN' | 'en';
}

export interface DutyListInput {
  estate: string;
  estateName?: string;
  roster: Pick<Roster, 'onDuty' | 'covering' | 'timeZone' | 'listShifts' | 'listExceptions'>;
  /** The person's mobile number (the contact book's phone route), or undefined: not texted by the gateway. */
  contactOf(userId: string): DutyContact | undefined;
  from: number;
  horizonHours: number;
}

const MINUTE = 60_000;
const MAX_PEOPLE = 200;
const MAX_WINDOWS = 200;

/**
 * The instants in [start, end) where who is on duty can change: each shift's start and end time of
 * day, on every local day of the horizon (the roster's weekly shifts are "HH:MM" in its time zone),
 * and each exception's from and to.
 */
function changePoints(input: DutyListInput, start: number, end: number): number[] {
  const { roster, estate } = input;
  const points = new Set<number>([start]);
  const minutes = new Set(roster.listShifts({ estates: [estate] }).flatMap((sh) => [toMinute(sh.start), toMinute(sh.end)]));
  const first = localTime(start, roster.timeZone);
  const days = Math.ceil((end - start) / 86_400_000) + 2;
  for (let d = -1; d < days; d++) {
    for (const m of minutes) {
      const at = zonedInstant(first.year, first.month, first.day + d, m, roster.timeZone);
      if (at > start && at < end) points.add(at);
    }
  }
  for (const e of roster.listExceptions({ estates: [estate], after: start })) {
    for (const at of [e.from, e.to]) if (at > start && at < end) points.add(at);
  }
  return [...points].sort((a, b) => a - b);
}

/**
 * Who is on duty when over the horizon, merged into windows per person: the roster is asked once per
 * change point, not per minute (a 48 h list of an estate took 360 ms minute by minute).
 */
export function buildDutyList(input: DutyListInput): { list: DutyList; withoutPhone: string[] } {
  const start = Math.floor(input.from / MINUTE) * MINUTE;
  const end = start + input.horizonHours * 3_600_000;
  const windows = new Map<string, { user: User; duty: { from: number; to: number }[] }>();
  const points = changePoints(input, start, end);
  points.forEach((at, i) => {
    const to = points[i + 1] ?? end;
    for (const user of input.roster.onDuty(input.estate, at)) {
      const entry = windows.get(user.id) ?? { user, duty: [] };
      windows.set(user.id, entry);
      const last = entry.duty.at(-1);
      if (last && last.to === at) last.to = to;
      else entry.duty.push({ from: at, to });
    }
  });
  const people: DutyPerson[] = [];
  const withoutPhone: string[] = [];
  const add = (user: User, duty: { from: number; to: number }[], standby: boolean) => {
    const contact = input.contactOf(user.id);
    if (!contact) {
      withoutPhone.push(user.id);
      return;
    }
    if (people.length < MAX_PEOPLE) people.push({ userId: user.id, name: (user.displayName ?? user.name).slice(0, 100), phone: contact.phone, lang: contact.lang, duty: duty.slice(0, MAX_WINDOWS), standby });
  };
  for (const { user, duty } of windows.values()) add(user, duty, false);
  for (const user of input.roster.covering('volunteer', input.estate)) {
    const onList = people.find((p) => p.userId === user.id);
    if (onList) onList.standby = true;
    else if (!windows.has(user.id)) add(user, [], true);
  }
  const list = DutyList.parse({ estate: input.estate, ...(input.estateName ? { estateName: input.estateName.slice(0, 100) } : {}), timeZone: input.roster.timeZone, issuedAt: input.from, people });
  return { list, withoutPhone: [...new Set(withoutPhone)] };
}

export interface DutySyncDeps {
  roster: Pick<Roster, 'onDuty' | 'covering' | 'timeZone' | 'listShifts' | 'listExceptions'>;
  contactOf(userId: string): DutyContact | undefined;
  commands: Pick<Commands, 'send'>;
  /** Live gateways of an estate (the registry's, not revoked). */
  gateways(estate: string): string[];
  estateName(estate: string): string | undefined;
  onStatus(listener: (status: GatewayStatus) => void): () => void;
  log: Logger;
  horizonHours?: number;
  everyMs?: number;
  estates(): string[];
  now?: () => number;
}

export interface DutySync {
  start(): void;
  stop(): void;
  /** Send the estate's list to its gateways now (after a roster or contact change). */
  syncEstate(estate: string): Promise<void>;
}

export function createDutySync(deps: DutySyncDeps): DutySync {
  const now = deps.now ?? Date.now;
  const horizonHours = deps.horizonHours ?? 48;
  let timer: NodeJS.Timeout | undefined;
  let off: (() => void) | undefined;
  /** Gateways whose latest status says they have a modem (`edge.sms`): the only ones sent a list. */
  const withModem = new Set<string>();
  const key = (estate: string, gateway: string): string => `${estate}/${gateway}`;
  const modemGateways = (estate: string): string[] => deps.gateways(estate).filter((g) => withModem.has(key(estate, g)));

  async function sendTo(estate: string, gateways: string[]): Promise<void> {
    if (!gateways.length) return;
    const { list, withoutPhone } = buildDutyList({ estate, estateName: deps.estateName(estate), roster: deps.roster, contactOf: deps.contactOf, from: now(), horizonHours });
    if (withoutPhone.length) deps.log.warn({ estate, users: withoutPhone }, 'on duty or standby without a mobile number: the gateway cannot text them');
    await Promise.all(
      gateways.map(async (gateway) => {
        try {
          const { result } = await deps.commands.send({ estate, gateway, device: gateway, name: 'gateway.duty.set', args: list, actor: { id: 'system:duty-sync' }, ttlMs: 10 * 60_000 });
          if (result.status === 'ok') deps.log.debug({ estate, gateway, people: list.people.length }, 'duty list sent');
          else if (result.code === 'RB_ERR_CMD_UNSUPPORTED') deps.log.debug({ estate, gateway }, 'gateway has no edge warnings configured');
          else deps.log.warn({ estate, gateway, code: result.code, message: result.message }, 'gateway refused the duty list');
        } catch (err) {
          deps.log.warn({ err, estate, gateway }, 'duty list not delivered (retried at the next sync)');
        }
      }),
    );
  }

  return {
    start() {
      off = deps.onStatus((s) => {
        const k = key(s.estate, s.gateway);
        if (!s.edge?.sms) {
          // Offline (a will has no edge field) or no modem: nothing to send until it says otherwise.
          if (s.state === 'online') withModem.delete(k);
          return;
        }
        const fresh = !withModem.has(k);
        withModem.add(k);
        if (fresh || s.reason === 'connected' || s.reason === 'startup') void sendTo(s.estate, [s.gateway]);
      });
      timer = setInterval(() => {
        for (const estate of deps.estates()) void sendTo(estate, modemGateways(estate));
      }, deps.everyMs ?? 3_600_000);
      timer.unref();
    },
    stop() {
      off?.();
      if (timer) clearInterval(timer);
    },
    syncEstate: (estate) => sendTo(estate, modemGateways(estate)),
  };
}
