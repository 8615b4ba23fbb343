import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { CommandResult } from '../protocol/index.js';

export type CommandRecord =
  | { state: 'new' }
  | { state: 'running' }
  | { state: 'done'; result: CommandResult };

/**
 * Which command ids this gateway has seen, on disk, so a command re-delivered after a reconnect or a
 * gateway restart (persistent MQTT sessions re-deliver QoS 1 messages) is never executed twice.
 * An id is recorded as running *before* the device is asked; a crash in between leaves it running, and
 * a re-delivery then reports an error instead of opening a door a second time.
 */
export interface CommandLog {
  /** Claim an id: returns what was there before; if it was new, it is now 'running'. */
  claim(id: string, device: string, name: string): CommandRecord;
  finish(result: CommandResult): void;
  close(): void;
}

/** The command log on `file`, opened by `open()` (a gateway's start), not when it is built. */
export function createCommandLog(file: string, keepMs = 7 * 24 * 3600_000): CommandLog & { open(): void } {
  let opened: CommandLog | undefined;
  const get = (): CommandLog => {
    if (!opened) throw new Error('the command log is not open');
    return opened;
  };
  return {
    open() {
      opened ??= openCommandLog(file, keepMs);
    },
    claim: (id, device, name) => get().claim(id, device, name),
    finish: (result) => get().finish(result),
    close() {
      opened?.close();
      opened = undefined;
    },
  };
}

export function openCommandLog(file: string, keepMs = 7 * 24 * 3600_000): CommandLog {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY, device TEXT NOT NULL, name TEXT NOT NULL,
    received_at INTEGER NOT NULL, result TEXT
  ) WITHOUT ROWID`);
  db.prepare('DELETE FROM commands WHERE received_at < ?').run(Date.now() - keepMs);
  const get = db.prepare<[string], { result: string | null }>('SELECT result FROM commands WHERE id = ?');
  const insert = db.prepare('INSERT INTO commands (id, device, name, received_at) VALUES (?, ?, ?, ?)');
  const update = db.prepare('UPDATE commands SET result = ? WHERE id = ?');
  const claim = db.transaction((id: string, device: string, name: string): CommandRecord => {
    const row = get.get(id);
    if (!row) {
      insert.run(id, device, name, Date.now());
      return { state: 'new' };
    }
    return row.result === null ? { state: 'running' } : { state: 'done', result: JSON.parse(row.result) as CommandResult };
  });
  return {
    claim: (id, device, name) => claim(id, device, name),
    finish: (result) => void update.run(JSON.stringify(result), result.id),
    close: () => db.close(),
  };
}
