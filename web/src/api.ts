import { noteServerDate } from './clock.js';
import { refreshing, refreshSession, session, sessionRefused } from './session.js';
import { t } from './i18n/index.js';

/** A refused or failed request, with what the hub said (`{error: {code, message}}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly path: string,
  ) {
    super(message);
  }

  /** What to tell the user. */
  describe(): string {
    if (this.status === 0) return t('error.network');
    if (this.status === 404 && this.code === 'RB_ERR_NOT_FOUND' && /^no route/.test(this.message)) return t('error.missing', { path: this.path });
    if (this.status === 404 && this.code === '') return t('error.missing', { path: this.path });
    if (this.status === 403) return t('error.forbidden');
    return `${t('error.http', { status: this.status, code: this.code })}${this.message ? ` — ${this.message}` : ''}`;
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Do not log out on 401 (the login request itself). */
  anonymous?: boolean;
  signal?: AbortSignal;
  /** Internal: this is the retry after a refresh (a second 401 signs out). */
  retried?: boolean;
}

export function authHeader(): Record<string, string> {
  const token = session.value?.token;
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * JSON over the hub's REST API with the session's Bearer token. A 401 gets one token refresh and a
 * retry; a second 401 (or a refused refresh) ends the session.
 */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  if (!opts.anonymous) await refreshing();
  const headers: Record<string, string> = { accept: 'application/json', ...(opts.anonymous ? {} : authHeader()) };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  const sentAt = Date.now();
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal ?? AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', (err as Error).message, path.split('?')[0]!);
  }
  noteServerDate(res.headers.get('date'), sentAt, Date.now());
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const e = new ApiError(res.status, error?.code ?? '', error?.message ?? '', path.split('?')[0]!);
    if (res.status === 401 && !opts.anonymous) {
      const sent = headers.authorization;
      // Renewed meanwhile by another request, or renewable now: try once more with the new token.
      if (!opts.retried && (authHeader().authorization !== sent || (await refreshSession()))) return api<T>(path, { ...opts, retried: true });
      sessionRefused();
    }
    throw e;
  }
  return body as T;
}

export const describeError = (err: unknown): string => (err instanceof ApiError ? err.describe() : (err as Error).message);
