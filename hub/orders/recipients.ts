import type { OrderTier } from '../../protocol/work-orders.js';
import type { User } from '../people/users.js';

/**
 * Who a work order's tier reaches (docs/work-orders.md, "States and tiers"):
 *
 * - grid (网格): the estate's volunteers on duty (roster) and the volunteers and patrols scoped
 *   `grid:<the estate's grid>` (grid members; a center scoped to the grid is reached at the community);
 * - community (社区): `center` users whose scopes name the estate or its grid;
 * - street (街道): `center` and `admin` users scoped `street:<the estate's street>`.
 *
 * Pure over its inputs (the roster's on-duty list, the users, the estate's registry row), so the
 * sweep and the tests ask the same question.
 */
export interface TierPeople {
  onDuty(estate: string, at: number): readonly User[];
  users(): readonly User[];
  estate(id: string): { id: string; grid: string | null; street: string | null } | undefined;
}

export function tierRecipients(people: TierPeople, tier: OrderTier, estateId: string, at: number): User[] {
  const estate = people.estate(estateId);
  const grid = estate?.grid ?? null;
  const street = estate?.street ?? null;
  const has = (u: User, kind: string, id: string | null): boolean => id !== null && u.scopes.some((s) => s === `${kind}:${id}`);
  const enabled = people.users().filter((u) => !u.disabled);
  let chosen: User[];
  switch (tier) {
    case 'grid':
      chosen = [...people.onDuty(estateId, at), ...enabled.filter((u) => (u.role === 'volunteer' || u.role === 'patrol') && has(u, 'grid', grid))];
      break;
    case 'community':
      chosen = enabled.filter((u) => u.role === 'center' && (has(u, 'estate', estateId) || has(u, 'grid', grid)));
      break;
    case 'street':
      chosen = enabled.filter((u) => (u.role === 'center' || u.role === 'admin') && has(u, 'street', street));
      break;
  }
  const seen = new Set<string>();
  return chosen.filter((u) => !u.disabled && !seen.has(u.id) && seen.add(u.id) !== undefined).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

