import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { decodeSmsText } from './outbox.js';

/**
 * The receiving half of gammu-smsd's FILES backend (gammu-smsd-files(7)): the daemon writes each
 * received message part as `IN<date>_<time>_<serial>_<sender>_<part>.txt` (8-bit parts as `.bin`) in
 * InboxPath. This watcher reads them, hands each message to the callback, and then moves its files to
 * a `processed/` folder, so a restart neither loses nor repeats a reply.
 */

export interface ReceivedSms {
  from: string;
  text: string;
  /** When the daemon wrote it (file time): the name carries the phone's local time, without a zone. */
  receivedAt: number;
  /** The file names it was read from. */
  files: string[];
}

const NAME = /^IN(\d{8})_(\d{6})_(\d{2})_(.+)_(\d{2})\.(txt|bin)$/i;

export interface InboxWatchOptions {
  inbox: string;
  /** Where handled files go; default `<inbox>processed/`. */
  processed?: string;
  pollMs: number;
  /** A file younger than this may still be being written (the daemon does not write atomically). */
  settleMs?: number;
  log: Logger;
  onMessage(sms: ReceivedSms): void | Promise<void>;
}

export interface InboxWatch {
  /** Look once now (tests; the timer does it every pollMs). */
  poll(): Promise<void>;
  close(): Promise<void>;
}

export function watchInbox(opts: InboxWatchOptions): InboxWatch {
  const processed = opts.processed ?? join(opts.inbox, 'processed');
  const settleMs = opts.settleMs ?? 300;
  const failures = new Map<string, number>();
  let running: Promise<void> | undefined;
  let closed = false;

  async function once(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(opts.inbox);
    } catch (err) {
      opts.log.warn({ err, inbox: opts.inbox }, 'gammu inbox cannot be read');
      return;
    }
    // One message may come in parts (the daemon stores each part of a non-"detail" inbox as a file).
    const groups = new Map<string, { part: number; name: string; bin: boolean; from: string }[]>();
    for (const name of names) {
      const m = NAME.exec(name);
      if (!m) continue;
      const key = `${m[1]}_${m[2]}_${m[3]}_${m[4]}`;
      const list = groups.get(key) ?? [];
      list.push({ part: Number(m[5]), name, bin: m[6]!.toLowerCase() === 'bin', from: m[4]! });
      groups.set(key, list);
    }
    if (groups.size) await mkdir(processed, { recursive: true });
    const now = Date.now();
    for (const [key, parts] of groups) {
      if (closed) return;
      parts.sort((a, b) => a.part - b.part);
      const times = await Promise.all(parts.map((p) => stat(join(opts.inbox, p.name)).then((s) => s.mtimeMs)));
      if (times.some((t) => now - t < settleMs)) continue;
      const text = parts.some((p) => p.bin) ? '' : (await Promise.all(parts.map((p) => readFile(join(opts.inbox, p.name))))).map(decodeSmsText).join('');
      if (text) {
        try {
          await opts.onMessage({ from: parts[0]!.from, text: text.trim(), receivedAt: Math.round(Math.min(...times)), files: parts.map((p) => p.name) });
        } catch (err) {
          // Left in place: tried again on the next poll (at least once), logged once per message.
          const n = (failures.get(key) ?? 0) + 1;
          failures.set(key, n);
          if (n === 1) opts.log.error({ err, files: parts.map((p) => p.name) }, 'a received SMS could not be handled; it stays in the inbox and is retried');
          continue;
        }
        failures.delete(key);
      } else {
        opts.log.info({ files: parts.map((p) => p.name) }, 'an 8-bit (binary) SMS was received and set aside');
      }
      for (const p of parts) await rename(join(opts.inbox, p.name), join(processed, p.name));
    }
  }

  const tick = () => {
    if (closed || running) return;
    running = once()
      .catch((err) => opts.log.error({ err }, 'gammu inbox poll failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, opts.pollMs);
  timer.unref();
  tick();

  return {
    async poll() {
      while (running) await running;
      tick();
      await running;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
