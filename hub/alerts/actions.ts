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
}

/** The condition cleared: resolve the unresolved alert with this estate + device + rule + key, if any. */
export interface ClearAction {
  type: 'clear';
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
