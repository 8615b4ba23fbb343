import type { GatewayStatus } from '../../protocol/index.js';
import type { StateChange } from '../state/types.js';
import type { RuleInput } from './rules.js';

/**
 * The alert rules' inputs from the bus: live-state changes of devices and gateways (hub/state) become
 * `RuleInput`s, with the device kinds learnt from gateway status (camera rules need them).
 */
export class RuleInputs {
  /** Device kinds learnt from gateway status (`devices[id].kind`), by `estate/device`. */
  private readonly kinds = new Map<string, string>();

  learn(status: GatewayStatus): void {
    for (const [device, health] of Object.entries(status.devices ?? {})) {
      if (health.kind) this.kinds.set(`${status.estate}/${device}`, health.kind);
    }
  }

  /** The rules' input for a device's or a gateway's online change; null for any other change. */
  fromState(change: StateChange): RuleInput | null {
    const value = change.value as Record<string, unknown> | null;
    if (!value) return null;
    if (change.kind === 'device' && typeof value.online === 'boolean') {
      const device = String(value.device);
      const deviceKind = this.kinds.get(`${change.estate}/${device}`);
      return {
        kind: 'device',
        estate: change.estate,
        gateway: String(value.gateway),
        device,
        ...(deviceKind ? { deviceKind } : {}),
        online: value.online,
        since: typeof value.since === 'number' ? value.since : change.ts,
        ...(value.condition === 'auth-failed' ? { condition: 'auth-failed' as const } : {}),
        ...(Array.isArray(value.warnings) ? { warnings: (value.warnings as Array<{ code?: unknown }>).map((w) => String(w.code)) } : {}),
      };
    }
    if (change.kind === 'gateway' && typeof value.online === 'boolean') {
      const outbox = value.outbox as { pressure?: boolean } | undefined;
      return {
        kind: 'gateway',
        estate: change.estate,
        gateway: String(value.gateway),
        online: value.online,
        ...(outbox ? { pressure: outbox.pressure === true } : {}),
      };
    }
    return null;
  }
}
