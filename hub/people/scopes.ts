import { z } from 'zod';
import { ROLES, type Role as RoleName } from '../../protocol/api.js';
import { ID_PATTERN } from '../../protocol/index.js';

/** The roles are declared once, in protocol/api.ts (the screens read the same list). */
export { ROLES };
export type Role = RoleName;
export const Role = z.enum(ROLES);

export const SCOPE_KINDS = ['estate', 'grid', 'street'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** `estate:<Id>`, `grid:<Id>` or `street:<Id>` (Id as in protocol/ids.ts). */
export const Scope = z
  .string()
  .max(80)
  .refine((s) => {
    const colon = s.indexOf(':');
    return (SCOPE_KINDS as readonly string[]).includes(s.slice(0, colon)) && ID_PATTERN.test(s.slice(colon + 1));
  }, 'a scope is estate:<id>, grid:<id> or street:<id> (ids match [a-z0-9-]{1,64})');

export const Scopes = z.array(Scope).min(1, 'give at least one scope').max(100);

export function parseScope(scope: string): { kind: ScopeKind; id: string } {
  const colon = scope.indexOf(':');
  return { kind: scope.slice(0, colon) as ScopeKind, id: scope.slice(colon + 1) };
}

/** Whether `scopes` cover an estate, given its registry row (grid and street may be unknown). */
export function covers(scopes: readonly string[], estate: { id: string; grid: string | null; street: string | null }): boolean {
  return scopes.some((s) => {
    const { kind, id } = parseScope(s);
    return (kind === 'estate' && id === estate.id) || (kind === 'grid' && id === estate.grid) || (kind === 'street' && id === estate.street);
  });
}
