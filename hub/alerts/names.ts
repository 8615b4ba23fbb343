import type { Bus } from '../bus.js';
import type { Registry } from '../registry.js';
import type { Users } from '../people/users.js';
import type { NameOf } from './service.js';

/** At most this many device names are remembered (a bound against a gateway inventing devices). */
const MAX_DEVICE_NAMES = 100_000;

/**
 * Names instead of ids on every alert view: a person's display name (`user:<id>` actors), a device's
 * name as its gateway configured it (status `devices[id].name`, kept from the live statuses), and
 * an estate's name from the registry.
 */
export function createNameOf(deps: {
  bus: Pick<Bus, 'on'>;
  users: Pick<Users, 'get'>;
  registry: Pick<Registry, 'getEstate'>;
  /** Names of what the hub's own events are about (a patrol checkpoint), when no gateway named it. */
  hubDevice?: (estate: string, device: string) => string | undefined;
}): NameOf & { off(): void } {
  const deviceNames = new Map<string, string>();
  const off = deps.bus.on('gateway.status', (s) => {
    for (const [id, h] of Object.entries(s.devices ?? {})) if (h.name && deviceNames.size < MAX_DEVICE_NAMES) deviceNames.set(`${s.estate}/${id}`, h.name);
  });
  return Object.assign(
    (actor: string): string | undefined => {
      if (!actor.startsWith('user:')) return undefined;
      const user = deps.users.get(actor.slice(5));
      return user ? (user.displayName ?? user.name) : undefined;
    },
    {
      device: (estate: string, device: string) => deviceNames.get(`${estate}/${device}`) ?? deps.hubDevice?.(estate, device),
      estate: (estate: string) => deps.registry.getEstate(estate)?.name ?? undefined,
      off,
    },
  );
}
