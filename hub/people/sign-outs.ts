import type { Database } from 'better-sqlite3';

/**
 * "Signed out everywhere": tells listeners (push, which drops the user's sockets) when a user's
 * sessions end — a password change or a disable bumps `users.token_version`. Changes made through
 * this process are reported at once (`notify`); changes another process wrote to people.db (the CLI's
 * `hub user passwd`) within `pollMs`, found by `PRAGMA data_version`, which moves only when another
 * connection commits, so an idle poll costs one pragma.
 */
export interface SignOuts {
  on(listener: (userId: string) => void): () => void;
  /** A change made in this process. */
  notify(userId: string): void;
  close(): void;
}

type Row = { id: string; token_version: number };

export function createSignOuts(db: Database, opts: { pollMs?: number; onError?: (err: unknown) => void } = {}): SignOuts {
  const pollMs = opts.pollMs ?? 1000;
  const listeners = new Set<(userId: string) => void>();
  const versions = new Map<string, number>();
  const all = db.prepare<[], Row>('SELECT id, token_version FROM users');
  let dataVersion = 0;
  let timer: NodeJS.Timeout | undefined;

  const emit = (userId: string): void => {
    for (const l of listeners) l(userId);
  };
  function snapshot(): Row[] {
    const rows = all.all();
    dataVersion = db.pragma('data_version', { simple: true }) as number;
    return rows;
  }
  function poll(): void {
    try {
      if ((db.pragma('data_version', { simple: true }) as number) === dataVersion) return;
      for (const r of snapshot()) {
        const before = versions.get(r.id);
        versions.set(r.id, r.token_version);
        if (before !== undefined && before !== r.token_version) emit(r.id);
      }
    } catch (err) {
      opts.onError?.(err);
    }
  }

  return {
    on(listener) {
      listeners.add(listener);
      if (!timer) {
        for (const r of snapshot()) versions.set(r.id, r.token_version);
        timer = setInterval(poll, pollMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    notify(userId) {
      const row = db.prepare<[string], Row>('SELECT id, token_version FROM users WHERE id = ?').get(userId);
      if (row) versions.set(row.id, row.token_version);
      emit(userId);
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}
