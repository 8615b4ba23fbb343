import type pg from 'pg';
import { lazyRequire } from '../../../lib/lazy.js';
import type { Logger } from 'pino';

const pgModule = lazyRequire<typeof pg>('pg');

export interface PgListener {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface PgListenerOptions {
  url: string;
  /** Channel names (identifiers: letters, digits, underscore). */
  channels: readonly string[];
  onNotify(channel: string, payload: string): void;
  /**
   * The connection came back after a loss: notifications sent meanwhile are gone, so whoever relies
   * on them must look for itself once (read from its cursors).
   */
  onReconnect?(): void;
  log: Logger;
  /** First and longest wait between reconnect attempts (ms; default 200 and 5,000). */
  retryMs?: number;
  maxRetryMs?: number;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * PostgreSQL LISTEN on a connection of its own (a pooled one would be handed to others), reconnected
 * with backoff. NOTIFY is transactional: a listener hears a notification only after the sender's
 * COMMIT, so whatever it announces is readable when it arrives.
 */
export function createPgListener(opts: PgListenerOptions): PgListener {
  for (const c of opts.channels) if (!IDENT.test(c)) throw new Error(`bad LISTEN channel name ${JSON.stringify(c)}`);
  const first = opts.retryMs ?? 200;
  const max = opts.maxRetryMs ?? 5_000;
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let wait = first;
  let everConnected = false;

  async function connect(): Promise<void> {
    const c = new (pgModule().Client)({ connectionString: opts.url });
    c.on('notification', (n) => opts.onNotify(n.channel, n.payload ?? ''));
    c.on('error', (err) => {
      opts.log.warn({ err: err.message }, 'postgres LISTEN connection lost; reconnecting');
      lost(c);
    });
    c.on('end', () => lost(c));
    await c.connect();
    // Identifiers checked above; LISTEN takes no parameters.
    for (const ch of opts.channels) await c.query(`LISTEN ${ch}`);
    if (stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    wait = first;
    if (everConnected) opts.onReconnect?.();
    everConnected = true;
  }

  function lost(c: pg.Client): void {
    if (client !== c) return;
    client = undefined;
    c.end().catch(() => undefined);
    schedule();
  }

  function schedule(): void {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch((err: unknown) => {
        opts.log.debug({ err: (err as Error).message }, 'postgres LISTEN reconnect failed');
        wait = Math.min(max, wait * 2);
        schedule();
      });
    }, wait);
    retry.unref();
  }

  return {
    async start() {
      try {
        await connect();
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, 'postgres LISTEN connection failed; retrying');
        everConnected = true; // the first success counts as a reconnect: notifications may have been missed
        schedule();
      }
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
