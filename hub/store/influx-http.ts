/**
 * The InfluxDB 1.x HTTP API, on Node's fetch: `/write`, `/query`. Used instead of the `influx`
 * package so that a write's outcome is exact: 204 written, 400/413 refused (the points are poison:
 * sending them again cannot help), anything else or no answer transient (spool and retry).
 */

export type WriteResult = { kind: 'ok' } | { kind: 'refused'; status: number; message: string } | { kind: 'transient'; message: string };

export interface Series {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** InfluxDB did not answer, or answered 5xx: the API maps this to 503. */
export class InfluxUnavailableError extends Error {
  override name = 'InfluxUnavailableError';
}

export interface InfluxHttpOptions {
  /** `http(s)://[user:pass@]host[:port]`, without a database path. */
  base: URL;
  database: string;
  requestTimeoutMs: number;
}

/** What a fetch failure was: the socket error code (ECONNREFUSED...) or a timeout. */
export function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'aborted';
  }
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

export class InfluxHttp {
  readonly target: string;
  private readonly origin: string;
  private readonly auth: string | undefined;

  constructor(private readonly opts: InfluxHttpOptions) {
    const { base } = opts;
    this.origin = `${base.protocol}//${base.host}`;
    // Where we write, for errors and logs; credentials stay out of it.
    this.target = `${this.origin} db=${opts.database}`;
    this.auth = base.username
      ? `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`
      : undefined;
  }

  private signal(extra?: AbortSignal): AbortSignal {
    const timeout = AbortSignal.timeout(this.opts.requestTimeoutMs);
    return extra ? AbortSignal.any([timeout, extra]) : timeout;
  }

  private headers(contentType: string): Record<string, string> {
    return { 'content-type': contentType, ...(this.auth ? { authorization: this.auth } : {}) };
  }

  /** POST line protocol (ns precision) into retention policy `rp`. Never throws. */
  async write(body: string, rp: string, abort?: AbortSignal): Promise<WriteResult> {
    const qs = new URLSearchParams({ db: this.opts.database, rp, precision: 'ns' });
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.origin}/write?${qs}`, {
        method: 'POST',
        headers: this.headers('text/plain; charset=utf-8'),
        body,
        signal: this.signal(abort),
      });
      text = await res.text();
    } catch (err) {
      return { kind: 'transient', message: `unreachable (${describeFetchError(err, this.opts.requestTimeoutMs)})` };
    }
    if (res.status === 204 || res.status === 200) return { kind: 'ok' };
    const message = `HTTP ${res.status}: ${errorText(text)}`;
    // 400: a point InfluxDB will never take (parse error, type conflict, beyond retention).
    // 413: too large; split. 404 (database dropped), 401/403 (credentials), 5xx: fixable, so retry.
    if (res.status === 400 || res.status === 413) return { kind: 'refused', status: res.status, message };
    return { kind: 'transient', message };
  }

  /**
   * Run one InfluxQL statement with bound parameters (`$name` in `text`, values in `params`, sent
   * as InfluxDB's `params` JSON and never spliced into the text). Returns the statement's series.
   * Throws InfluxUnavailableError when InfluxDB does not answer, Error when it refuses the query.
   */
  async query(text: string, params: Record<string, string | number> = {}, database = true): Promise<Series[]> {
    const form = new URLSearchParams({ q: text });
    if (database) form.set('db', this.opts.database);
    if (Object.keys(params).length) form.set('params', JSON.stringify(params));
    let res: Response;
    let body: string;
    try {
      res = await fetch(`${this.origin}/query`, {
        method: 'POST',
        headers: this.headers('application/x-www-form-urlencoded'),
        body: form,
        signal: this.signal(),
      });
      body = await res.text();
    } catch (err) {
      throw new InfluxUnavailableError(`InfluxDB at ${this.target} is unavailable: ${describeFetchError(err, this.opts.requestTimeoutMs)}`);
    }
    if (res.status >= 500) throw new InfluxUnavailableError(`InfluxDB at ${this.target} is unavailable: HTTP ${res.status}: ${errorText(body)}`);
    let parsed: { error?: string; results?: Array<{ error?: string; series?: Series[] }> };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      throw new Error(`InfluxDB at ${this.target} answered HTTP ${res.status} with non-JSON: ${body.slice(0, 200)}`);
    }
    const error = parsed.error ?? parsed.results?.[0]?.error;
    if (error !== undefined || res.status !== 200) throw new Error(`InfluxDB at ${this.target} refused the query: ${error ?? `HTTP ${res.status}`}`);
    return parsed.results?.[0]?.series ?? [];
  }
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: use the text
  }
  return body.trim().slice(0, 500) || '(empty body)';
}
