import { createHash } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SmsdSpool } from './smsdrc.js';

/**
 * The sending half of gammu-smsd's FILES backend (gammu-smsd-files(7), smsd/services/files.c):
 * a message is a file `OUT<priority>_<recipient>_<serial>.txt` in OutboxPath; the daemon takes the
 * alphabetically first one, sends it and renames it into SentSMSPath, or into ErrorSMSPath when the
 * phone refused it.
 *
 * Why files and not `gammu-smsd-inject`: inject names its files after the clock
 * (`OUTC<date>_<time>_00_<number>_sms<n>`), so a retry after a crash could not find what the first
 * attempt queued and would queue it again. Writing the file ourselves lets the name carry the
 * notification's id: the same id always has the same name, and that name is looked up in the outbox,
 * sent and error folders before anything is written (the idempotency marker). The file appears
 * at once (written under a dot name, which the daemon skips, then renamed), so the daemon never reads
 * half a message; and no process is spawned per message.
 */

/** Where a queued message is now. */
export type SpoolState = 'queued' | 'sent' | 'error' | 'absent';

export interface OutgoingSms {
  /** Stable across retries: the idempotency key. */
  id: string;
  /** Digits with an optional leading +. */
  phone: string;
  text: string;
  /** 'A' (first) to 'Z': the daemon sends in file-name order. */
  priority: string;
}

const PHONE = /^\+?[0-9]{3,20}$/;

/** Digits with an optional leading `+`, without spaces or dashes; undefined when it is no number. */
export function normalisePhone(phone: string): string | undefined {
  const p = phone.replace(/[\s\-()]/g, '');
  return PHONE.test(p) ? p : undefined;
}

/** The serial part of the file name: the id itself when it is file-name safe, else a digest of it. */
function serial(id: string): string {
  return /^[0-9A-Za-z-]{1,64}$/.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 32);
}

/** `OUT<priority>_<recipient>_<serial>.txt`, the second documented outbox name form. */
export function outboxName(sms: Pick<OutgoingSms, 'id' | 'phone' | 'priority'>): string {
  const phone = normalisePhone(sms.phone);
  if (!phone) throw new Error('not a phone number');
  if (!/^[A-Z]$/.test(sms.priority)) throw new Error(`priority must be one letter A-Z, got ${JSON.stringify(sms.priority)}`);
  return `OUT${sms.priority}_${phone}_${serial(sms.id)}.txt`;
}

/** The parts of an outbox name (for listings of the sent folder). */
export function parseOutboxName(name: string): { priority: string; phone: string; serial: string } | undefined {
  const m = /^OUT([A-Z])_(\+?[0-9]+)_([0-9A-Za-z-]+)\.txt$/.exec(name);
  return m ? { priority: m[1]!, phone: m[2]!, serial: m[3]! } : undefined;
}

/**
 * The file's bytes: UTF-16 big-endian after the byte-order mark FE FF, which files.c recognises as
 * "Unicode" and reads as is (any other content is converted through the daemon's locale, which is
 * often C under an init system and would lose Chinese text).
 */
export function encodeSmsText(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1]!;
    be[i + 1] = le[i]!;
  }
  return Buffer.concat([Buffer.from([0xfe, 0xff]), be]);
}

/**
 * Decode a message file as gammu writes or reads it: UTF-16 with a BOM (either order), else UTF-8.
 * The text ends at the first U+0000: gammu 1.42's files.c writes an "unicode" inbox file with a
 * length of strlen(locale text) * 2, which for Chinese (3 UTF-8 bytes per character) runs past the
 * message into its terminating zeros.
 */
export function decodeSmsText(buf: Buffer): string {
  let text: string;
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    const body = Buffer.from(buf.subarray(2, buf.length - (buf.length % 2)));
    body.swap16();
    text = body.toString('utf16le');
  } else if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    text = buf.subarray(2, buf.length - (buf.length % 2)).toString('utf16le');
  } else {
    text = buf.toString('utf8');
  }
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export class SmsOutbox {
  constructor(private readonly spool: Pick<SmsdSpool, 'outbox' | 'sent' | 'error'>) {}

  /**
   * Where the file of this name is. The folders are looked at in the order the daemon moves a file
   * (outbox, then sent or error): a rename is atomic, so a file in transit is seen in one of them.
   */
  async state(name: string): Promise<SpoolState> {
    if (await exists(join(this.spool.outbox, name))) return 'queued';
    if (await exists(join(this.spool.sent, name))) return 'sent';
    if (await exists(join(this.spool.error, name))) return 'error';
    return 'absent';
  }

  /** Put the message in the outbox under its name, atomically and durably. Returns the name. */
  async queue(sms: OutgoingSms): Promise<string> {
    const name = outboxName(sms);
    // files.c skips names starting with "." and anything not starting with "OUT".
    const tmp = join(this.spool.outbox, `.rb-${name}.tmp`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(encodeSmsText(sms.text));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.spool.outbox, name));
    return name;
  }

  /** Take a message out of the outbox (only while no daemon can be sending it). True if it was there. */
  async withdraw(name: string): Promise<boolean> {
    try {
      await unlink(join(this.spool.outbox, name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Forget an earlier failure so the message can be queued again under the same name. */
  async clearError(name: string): Promise<void> {
    await unlink(join(this.spool.error, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** The text of a sent message (tests, the "send a test" view). */
  async sentText(name: string): Promise<string> {
    return decodeSmsText(await readFile(join(this.spool.sent, name)));
  }
}

/**
 * Is the daemon running? Read its pid file (`gammu-smsd --pid=FILE`; Debian's unit writes
 * /run/gammu-smsd.pid) and ask the kernel. A pid that now belongs to another program (reused after
 * a crash) does not count: on Linux /proc/<pid>/stat must name gammu-smsd (and not a zombie).
 */
export async function daemonRunning(pidFile: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but runs as another user (Debian runs it as "gammu").
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true; // no /proc: trust the signal check
  }
  // "<pid> (<comm>) <state> …": a zombie (Z) or dead (X) process sends nothing.
  const m = /^\d+ \((.*)\) (\S)/.exec(stat);
  return !!m && m[1] === 'gammu-smsd' && m[2] !== 'Z' && m[2] !== 'X';
}
