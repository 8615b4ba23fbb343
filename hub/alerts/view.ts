import type { Alert } from './types.js';

/** An alert as the API and push send it: snapshot links carry the URL screens fetch them from. */
export type AlertView = Omit<Alert, 'snapshots'> & { snapshots: Array<{ sha256: string; eventId: string; url: string }> };

/**
 * Names for alert views: of an actor (`user:<id>`) if it is a person the hub knows, of a device as
 * its gateway configured it (e.g. 东门), and of an estate as the registry has it (e.g. 枫林苑).
 */
export interface NameOf {
  (actor: string): string | undefined;
  device?: (estate: string, device: string) => string | undefined;
  estate?: (estate: string) => string | undefined;
}

export function alertView<T extends Alert>(
  a: T,
  nameOf?: NameOf,
): Omit<T, 'snapshots'> & {
  snapshots: AlertView['snapshots'];
  acknowledgedByName?: string;
  resolvedByName?: string;
  assigneeName?: string;
  deviceName?: string;
  estateName?: string;
} {
  const names: Record<string, string> = {};
  const deviceName = nameOf?.device?.(a.estate, a.device);
  if (deviceName) names.deviceName = deviceName;
  const estateName = nameOf?.estate?.(a.estate);
  if (estateName) names.estateName = estateName;
  if (nameOf) {
    for (const [field, actor] of [['acknowledgedByName', a.acknowledgedBy], ['resolvedByName', a.resolvedBy], ['assigneeName', a.assignee]] as const) {
      const name = actor ? nameOf(actor) : undefined;
      if (name) names[field] = name;
    }
  }
  return { ...a, ...names, snapshots: a.snapshots.map((s) => ({ ...s, url: `/api/v1/snapshots/${s.sha256}` })) };
}
