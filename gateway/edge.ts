import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { daemonRunning, outboxName, SmsOutbox } from '../lib/gammu/outbox.js';
import { readSmsdrc, SmsdrcError } from '../lib/gammu/smsdrc.js';
import { DutyList, dutyRecipients, edgeRule, type DutyPerson, type EdgeNotice, type EdgeRule, type RbEvent } from '../protocol/index.js';
import type { GatewayConfig } from './config.js';

/**
 * The edge warns on its own (issue 17 item 6). While the gateway has not reached the hub for
 * `edge.alertAfterS`, an event that trips a critical rule (protocol/edge.ts `edgeRule`: forced door,
 * tamper, blocklisted plate) is texted to the people on duty through the gateway's own gammu-smsd,
 * from the duty list the hub last sent (command `gateway.duty.set`, kept in `{dataDir}/duty.json` so a
 * gateway restarted while the hub is away still has it). The event then carries an `edge` notice in
 * its envelope, appended to the outbox with it, so the hub learns who was told when the link returns.
 *
 * The texts are queued (the gammu outbox file written) before the event is appended: a few small
 * files, only while the hub is away and only for critical events. Their names derive from the event
 * id and the person, so the same event (a device re-posting it) never texts anyone twice.
 */

export interface EdgeWarnerDeps {
  estate: string;
  gateway: string;
  dataDir: string;
  config: NonNullable<GatewayConfig['edge']>;
  /** How long (ms) the hub has been unreachable; 0 while connected. */
  hubAwayMs(): number;
  deviceName(device: string): string | undefined;
  log: Logger;
  now?: () => number;
}

export interface EdgeWarner {
  start(): Promise<void>;
  /** Replace the duty list (the `gateway.duty.set` command); kept on disk before it answers. */
  setDuty(list: DutyList): Promise<{ people: number }>;
  /** Whether `event` calls for texts now (cheap, synchronous: the outbox path asks it for every event). */
  wanted(event: RbEvent): boolean;
  /** Queue the texts; the notice to put on the event, or undefined when nobody could be texted. */
  warn(event: RbEvent): Promise<EdgeNotice | undefined>;
  stats(): { texts: number; events: number; suppressed: number; dutyPeople: number; dutyIssuedAt: number | null };
}

const WHAT: Record<EdgeRule, { 'zh-CN': string; en: string }> = {
  'door.forced': { 'zh-CN': '强行开门', en: 'door forced open' },
  'device.tamper': { 'zh-CN': '设备防拆报警', en: 'tamper alarm' },
  'plate.blocklisted': { 'zh-CN': '黑名单车辆', en: 'blocklisted vehicle' },
};

function hhmm(at: number, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
  } catch {
    return new Date(at).toISOString().slice(11, 16);
  }
}

/** The text: what, where, when, and that it comes from the gateway alone (no ack link: the hub is away). */
export function edgeText(p: Pick<DutyPerson, 'lang'>, rule: EdgeRule, where: { estate: string; device: string }, time: string): string {
  return p.lang === 'en'
    ? `[Red Butler] ${where.estate} ${where.device} ${time} ${WHAT[rule].en}. The gateway cannot reach the hub and sent this itself: please go and check.`
    : `【红管家】${where.estate} ${where.device} ${time} ${WHAT[rule]['zh-CN']}。网关与中心失联，此短信由网关直接发出，请尽快到场查看。`;
}

export function createEdgeWarner(deps: EdgeWarnerDeps): EdgeWarner {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const file = join(deps.dataDir, 'duty.json');
  let writing: Promise<unknown> = Promise.resolve();
  let writes = 0;
  let duty: DutyList | undefined;
  let outbox: SmsOutbox | undefined;
  /** rule/device -> when it was last texted: a chattering tamper switch texts once per repeatS. */
  const lastTexted = new Map<string, number>();
  const counters = { texts: 0, events: 0, suppressed: 0 };

  return {
    async start() {
      try {
        outbox = new SmsOutbox(readSmsdrc(config.gammu.smsdrc));
      } catch (err) {
        if (err instanceof SmsdrcError) throw new Error(`edge.gammu.smsdrc: ${err.message}`);
        throw err;
      }
      try {
        duty = DutyList.parse(JSON.parse(await readFile(file, 'utf8')));
        log.info({ people: duty.people.length, issuedAt: duty.issuedAt }, 'duty list loaded');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.error({ err }, `${file} unreadable; waiting for the hub to send a duty list`);
        else log.info('no duty list yet; the hub sends one (gateway.duty.set)');
      }
    },
    setDuty(list) {
      // One write at a time (two lists can arrive together: a reconnect and the hourly sync), each
      // through its own temp file and an atomic rename; a list older than the one kept is not taken.
      const run = writing.then(async () => {
        if (duty && list.issuedAt < duty.issuedAt) {
          log.info({ issuedAt: list.issuedAt, kept: duty.issuedAt }, 'an older duty list arrived late; the newer one is kept');
          return { people: duty.people.length };
        }
        const tmp = `${file}.${process.pid}.${++writes}.tmp`;
        await mkdir(deps.dataDir, { recursive: true });
        await writeFile(tmp, JSON.stringify(list));
        await rename(tmp, file);
        duty = list;
        log.info({ people: list.people.length, issuedAt: list.issuedAt }, 'duty list updated by the hub');
        return { people: list.people.length };
      });
      writing = run.catch(() => undefined);
      return run;
    },
    wanted(event) {
      return deps.hubAwayMs() >= config.alertAfterS * 1000 && edgeRule(event) !== null;
    },
    async warn(event) {
      const rule = edgeRule(event);
      if (!rule || !outbox) return undefined;
      const at = now();
      const key = `${rule}/${event.device}`;
      const last = lastTexted.get(key);
      if (last !== undefined && at - last < config.repeatS * 1000) {
        counters.suppressed++;
        return undefined;
      }
      if (!duty) {
        log.error({ event: event.id, rule }, 'the hub is unreachable and a critical event came in, but no duty list was ever received: nobody texted');
        return undefined;
      }
      const people = dutyRecipients(duty, at);
      if (!people.length) {
        log.error({ event: event.id, rule }, 'the hub is unreachable and nobody is on duty or standby in the duty list: nobody texted');
        return undefined;
      }
      if (config.gammu.pidFile && !(await daemonRunning(config.gammu.pidFile))) {
        log.error({ pidFile: config.gammu.pidFile }, 'gammu-smsd is not running: the texts are queued and go out when it starts');
      }
      const where = { estate: duty.estateName ?? deps.estate, device: deps.deviceName(event.device) ?? event.device };
      const time = hhmm(event.ts, duty.timeZone);
      const to: string[] = [];
      for (const p of people) {
        const sms = { id: `${event.id}-${p.userId}`, phone: p.phone, text: edgeText(p, rule, where, time), priority: 'A' };
        try {
          if ((await outbox.state(outboxName(sms))) === 'absent') await outbox.queue(sms);
          to.push(p.userId);
          counters.texts++;
        } catch (err) {
          log.error({ err, user: p.userId }, 'could not queue the text');
        }
      }
      if (!to.length) return undefined;
      lastTexted.set(key, at);
      counters.events++;
      log.warn({ event: event.id, rule, device: event.device, to }, 'hub unreachable: texted the people on duty through the local modem');
      return { notifiedAt: at, channel: 'gammu', rule, to };
    },
    stats: () => ({ ...counters, dutyPeople: duty?.people.length ?? 0, dutyIssuedAt: duty?.issuedAt ?? null }),
  };
}
