import { signal } from '@preact/signals';
import type { MessageKey } from './i18n/index.js';
import type { LoginResponse, Role, User } from './types.js';

/**
 * The signed-in user, kept like an app keeps it: in localStorage with a refresh token, so closing the
 * tab or restarting the phone does not sign a volunteer out (issue 15; the 1 h access token alone in
 * sessionStorage did). The access token is renewed before it expires and once more when a request is
 * refused with 401; the refresh token has its own lifetime and is revoked by the hub at logout and on
 * a password change, which is what signs the other sessions out.
 */
export interface Session {
  token: string;
  /** ms since epoch */
  expiresAt: number;
  refreshToken?: string;
  /** ms since epoch */
  refreshExpiresAt?: number;
  user: User;
}

const KEY = 'rb.session';

const toMs = (v: number | string | undefined): number => (v === undefined ? NaN : typeof v === 'number' ? (v < 1e12 ? v * 1000 : v) : Date.parse(v));

/** Whether a stored session can still be used: its access token, or else its refresh token, is valid. */
const usable = (s: Session | null, now = Date.now()): s is Session =>
  !!s && typeof s.token === 'string' && !!s.user && (s.expiresAt > now || (!!s.refreshToken && (s.refreshExpiresAt ?? Infinity) > now));

function read(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    const s = raw ? (JSON.parse(raw) as Session) : null;
    return usable(s) ? s : null;
  } catch {
    return null;
  }
}

function write(s: Session | null): void {
  try {
    if (s) localStorage.setItem(KEY, JSON.stringify(s));
    else localStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY); // where older builds kept it
  } catch {
    // private mode with storage disabled: the session lives as long as the page
  }
}

export const session = signal<Session | null>(read());
/** Why the user is on the login screen, if not by choice (a catalogue key: worded when shown). */
export const logoutReason = signal<MessageKey | null>(null);

export interface TokenAnswer extends Omit<LoginResponse, 'user'> {
  user?: User;
}

export function setSession(res: TokenAnswer, user?: User): Session {
  const prev = session.value;
  const refreshToken = res.refreshToken ?? prev?.refreshToken;
  const refreshExpiresAt = res.refreshToken ? toMs(res.refreshExpiresAt) : prev?.refreshExpiresAt;
  const s: Session = {
    token: res.token,
    expiresAt: toMs(res.expiresAt) || Date.now() + 3_600_000,
    ...(refreshToken ? { refreshToken } : {}),
    ...(refreshToken && Number.isFinite(refreshExpiresAt) ? { refreshExpiresAt } : {}),
    user: res.user ?? user ?? prev!.user,
  };
  write(s);
  session.value = s;
  scheduleRefresh();
  return s;
}

export function clearSession(reason: MessageKey | null = null): void {
  write(null);
  logoutReason.value = reason;
  session.value = null;
  if (refreshTimer) clearTimeout(refreshTimer);
}

/**
 * The hub refused the session (and its refresh): say why as well as we can tell — the refresh token
 * ran out, or it was revoked (a password change, a logout elsewhere).
 */
export function sessionRefused(): void {
  const s = session.value;
  const expired = !s?.refreshToken || (s.refreshExpiresAt ?? Infinity) <= Date.now();
  clearSession(expired ? 'error.session' : 'error.signedOut');
}

/** Log out here and at the hub (the refresh token is revoked; best effort when the hub is away). */
export async function endSession(): Promise<void> {
  const s = session.value;
  clearSession();
  if (!s) return;
  const body = s.refreshToken ? { refreshToken: s.refreshToken } : {};
  await fetch('/api/v1/auth/logout', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
    body: JSON.stringify(body),
    keepalive: true,
  }).catch(() => undefined);
}

/** The view a role opens on: phones for people on the move, the street overview for the center. */
export function homeFor(role: Role): string {
  return role === 'center' || role === 'admin' ? '/street' : '/me';
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<boolean> | null = null;

/** Renew the access token at 80 % of its lifetime (at once when it is already due). */
export function scheduleRefresh(): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  const s = session.value;
  if (!s) return;
  const left = s.expiresAt - Date.now();
  const wait = left < 60_000 ? 0 : Math.max(5_000, left * 0.8);
  refreshTimer = setTimeout(() => void refreshSession(), Math.min(wait, 2 ** 31 - 1));
}

/**
 * Get a fresh access token. One request at a time (every caller shares it). Resolves false when the
 * hub refused (the caller signs out); a network failure keeps the session and retries later.
 */
export function refreshSession(): Promise<boolean> {
  inflight ??= acrossTabs(doRefresh).finally(() => (inflight = null));
  return inflight;
}

/**
 * One tab refreshes at a time (Web Locks): the hub rotates the refresh token and treats a used one
 * coming back as stolen, revoking the whole login — two tabs refreshing with the same token at once
 * would sign the person out everywhere. Inside the lock a tab first looks whether another one has
 * renewed the session already.
 */
function acrossTabs<T>(fn: () => Promise<T>): Promise<T> {
  // The lock is held until fn's promise settles, and request() resolves with its value.
  return 'locks' in navigator ? (navigator.locks.request('rb.session.refresh', fn) as unknown as Promise<T>) : fn();
}

/** Wait for a refresh that is under way (requests sent meanwhile would carry the old token). */
export const refreshing = (): Promise<unknown> | null => inflight;

async function doRefresh(): Promise<boolean> {
  const s = session.value;
  if (!s) return false;
  // Another tab may have renewed the same session already (the refresh token rotates): take its tokens.
  const stored = read();
  if (stored && stored.user.id === s.user.id && stored.token !== s.token && stored.expiresAt > Date.now() + 60_000) {
    session.value = stored;
    scheduleRefresh();
    return true;
  }
  const viaRefreshToken = !!s.refreshToken && (s.refreshExpiresAt ?? Infinity) > Date.now();
  let res: Response;
  try {
    res = await fetch('/api/v1/auth/refresh', viaRefreshToken
      ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: s.refreshToken }) }
      : { method: 'POST', headers: { authorization: `Bearer ${s.token}` } });
  } catch {
    // The hub is away: try again shortly; the token may still be valid.
    if (session.value === s) refreshTimer = setTimeout(() => void refreshSession(), 30_000);
    return s.expiresAt > Date.now();
  }
  if (session.value !== s) return !!session.value; // signed out (or in again) meanwhile
  if (res.ok) {
    const body = (await res.json().catch(() => ({}))) as Partial<TokenAnswer>;
    if (body.token) {
      setSession({ ...body, token: body.token, expiresAt: body.expiresAt ?? Date.now() + 3_600_000 }, s.user);
      return true;
    }
  }
  if (res.status === 401 || res.status === 403) return false;
  // A 5xx: keep what we have while it lasts.
  refreshTimer = setTimeout(() => void refreshSession(), 30_000);
  return s.expiresAt > Date.now();
}

// Another tab signed out, or signed in as someone else, or renewed the tokens: follow it.
addEventListener('storage', (e) => {
  if (e.key !== KEY) return;
  const next = read();
  const cur = session.value;
  if (!next) {
    if (cur) clearSession();
  } else if (!cur || next.token !== cur.token) {
    session.value = next;
    scheduleRefresh();
  }
});
