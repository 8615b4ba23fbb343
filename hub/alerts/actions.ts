import type { RbEvent } from '../../protocol/index.js';
import type { RuleMemory } from './memory.js';
import type { RuleName } from './settings.js';

/** What the rules (rules.ts) take and give: bus inputs in, raise/clear actions out. */

export type RuleInput =
  | { kind: 'event'; event: RbEvent }
  | {
      kind: 'device';
      estate: string;
      gateway: string;
      device: string;
      deviceKind?: string;
      online: boolean;
      since: number;
      /** The device answers but refuses the gateway's credentials. */
      condition?: 'auth-failed';
      /** Codes of the misbehaviour the gateway reports for it (e.g. pull-early). */
      warnings?: string[];
    }
  | { kind: 'gateway'; estate: string; gateway: string; online: boolean; pressure?: boolean }
  | { kind: 'tick' };

/** Open an alert, or count a repeat on the unresolved alert with the same estate + device + rule + key. */
export interface RaiseAction {
  type: 'raise';
  rule: RuleName;
  estate: string;
  gateway: string;
  device: string;
  key: string;
  severity: number;
  at: number;
  eventId?: string;
  snapshots?: string[];
  data: Record<string, unknown>;
  /** The gateway texted people about the event itself while the hub was unreachable (set by the service, not the rules). */
  edge?: { notifiedAt: number; channel: string; to: readonly string[] };
}

/**
 * The condition cleared for the unresolved alert with this estate + device + rule + key, if any.
 * `resolve: true` — the alert resolves by `system` (a state rule whose estate lets it auto-resolve,
 * after the clearAfterS hold-off); `resolve: false` — it is only stamped `conditionClearedAt` and
 * waits for a person (alarm rules always, state rules where the estate switched autoResolve off).
 */
export interface ClearAction {
  type: 'clear';
  resolve: boolean;
  rule: RuleName;
  estate: string;
  gateway: string;
  device: string;
  key: string;
  at: number;
  eventId?: string;
}

export type AlertAction = RaiseAction | ClearAction;

export interface RuleResult {
  memory: RuleMemory;
  actions: AlertAction[];
  /** Earliest time a `tick` is needed, or null when no timer is pending. */
  wakeAt: number | null;
}
