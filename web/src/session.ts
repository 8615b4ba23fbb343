import { signal } from '@preact/signals';
import type { LoginResponse, Role, User } from './types.js';

export interface Session {
  token: string;
  /** ms since epoch */
  expiresAt: number;
  user: User;
}

const KEY = 'rb.session';

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return typeof s.token === 'string' && s.user && s.expiresAt > Date.now() ? s : null;
  } catch {
    return null;
  }
}

/** The logged-in user; kept in sessionStorage (gone when the tab closes). */
export const session = signal<Session | null>(load());
/** Why the user is on the login screen, if not by choice (expired token). */
export const logoutReason = signal<string | null>(null);

const toMs = (v: number | string): number => (typeof v === 'number' ? (v < 1e12 ? v * 1000 : v) : Date.parse(v));

export function setSession(res: LoginResponse): Session {
  const s: Session = { token: res.token, expiresAt: toMs(res.expiresAt) || Date.now() + 3_600_000, user: res.user };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  session.value = s;
  scheduleRefresh();
  return s;
}

export function clearSession(reason: string | null = null): void {
  sessionStorage.removeItem(KEY);
  logoutReason.value = reason;
  session.value = null;
  if (refreshTimer) clearTimeout(refreshTimer);
}

/** The view a role opens on: phones for people on the move, the street overview for the center. */
export function homeFor(role: Role): string {
  return role === 'center' || role === 'admin' ? '/street' : '/me';
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;

/** Refresh the token at 80 % of its lifetime (POST /api/v1/auth/refresh), so a shift is not cut off. */
export function scheduleRefresh(): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  const s = session.value;
  if (!s) return;
  const wait = Math.max(5_000, (s.expiresAt - Date.now()) * 0.8);
  refreshTimer = setTimeout(() => void refresh(), Math.min(wait, 2 ** 31 - 1));
}

async function refresh(): Promise<void> {
  const s = session.value;
  if (!s) return;
  try {
    const res = await fetch('/api/v1/auth/refresh', { method: 'POST', headers: { authorization: `Bearer ${s.token}` } });
    if (res.ok) {
      const body = (await res.json()) as Partial<LoginResponse>;
      if (body.token) setSession({ token: body.token, expiresAt: body.expiresAt ?? Date.now() + 3_600_000, user: body.user ?? s.user });
      return;
    }
  } catch {
    // network down: try again shortly; the token may still be valid
  }
  if (session.value && session.value.expiresAt > Date.now() + 10_000) {
    refreshTimer = setTimeout(() => void refresh(), 30_000);
  }
}
