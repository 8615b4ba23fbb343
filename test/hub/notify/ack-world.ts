import { ulid } from 'ulid';
import type { Alert } from '../../../hub/alerts/types.js';
import { captureLog, startTestHub, type LogLine, type TestHub } from '../../support/hub.js';
import type { HubDeps } from '../../../hub/hub-types.js';

export const CHANNELS = [
  { id: 'aliyun', type: 'sms-aliyun', accepts: ['phone'] as const },
  { id: 'gammu', type: 'gammu', accepts: ['phone'] as const },
];

/** A hub with estates a (枫林苑) and b, volunteers li (a) and far (b), and li's phone in the contact book. */
export interface AckWorld {
  t: TestHub;
  lines: LogLine[];
  li: { id: string; token: string };
  far: { id: string; token: string };
  /** An alert raised in the hub's store, and `notified` to these users at `at` (the escalation's timeline row). */
  alert(over?: { estate?: string; notified?: string[]; at?: number; rule?: string; device?: string }): Promise<Alert>;
}

export async function startAckWorld(notify: HubDeps['notify'] = {}): Promise<AckWorld> {
  const { log, lines } = captureLog('info');
  const t = await startTestHub({ log, notify: { channels: () => CHANNELS, ...notify } });
  await t.hub.registry.addStreet('street-1');
  await t.hub.registry.addEstate('estate-a', { street: 'street-1', name: '枫林苑' });
  await t.hub.registry.addEstate('estate-b', { street: 'street-1', name: '桂花园' });
  const li = await t.addUser({ name: 'li', displayName: '李雷', role: 'volunteer', scopes: ['estate:estate-a'] });
  const far = await t.addUser({ name: 'far', role: 'volunteer', scopes: ['estate:estate-b'] });
  await t.hub.contacts.contacts.add(li.id, { kind: 'phone', channelId: 'aliyun', address: '13812345678' });
  let n = 0;
  return {
    t,
    lines,
    li,
    far,
    async alert(over = {}) {
      const at = over.at ?? Date.now();
      n += 1;
      const { alert } = await t.hub.alertStore.raise({
        type: 'raise',
        rule: (over.rule ?? 'door.forced') as 'door.forced',
        estate: over.estate ?? 'estate-a',
        gateway: 'gw-1',
        device: over.device ?? `gate-${n}`,
        key: `door:${n}`,
        severity: 3,
        at,
        eventId: ulid(at),
        data: { door: n },
      });
      await t.hub.alertStore.notified(alert.id, { at, level: 0, reason: 'new', actors: (over.notified ?? []).map((u) => `user:${u}`) });
      return alert;
    },
  };
}
