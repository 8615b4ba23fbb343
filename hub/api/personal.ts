import { maskForRole, seesFullData } from '../alerts/privacy.js';
import type { Audit } from '../audit.js';
import { actorOf, type Principal } from '../people/principals.js';

/**
 * Personal data as this principal may see it (docs/alerts.md, "Personal data"): masked for volunteers
 * and patrols; in full for center and admin, and then every read that returns any is audited as
 * `view.personal` (one entry per request; `count` for lists, an empty list is not a view).
 */
export async function personalView<T>(audit: Audit, p: Principal, value: T, what: { estate?: string | undefined; target: string; count?: number }): Promise<T> {
  if (!seesFullData(p.role)) return maskForRole(p.role, value);
  if (what.count === undefined || what.count > 0) {
    await audit.record({ actor: actorOf(p), action: 'view.personal', estate: what.estate ?? null, target: what.target, detail: what.count !== undefined ? { count: what.count } : null });
  }
  return value;
}
