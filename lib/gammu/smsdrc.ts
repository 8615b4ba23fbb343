import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';

/**
 * What Red Butler needs to know of a gammu-smsd configuration file (gammu-smsdrc(5)) that runs the
 * FILES backend (gammu-smsd-files(7)): where the daemon picks up outgoing messages, where it puts the
 * sent and the failed ones, and where it writes received messages. Read from the daemon's own file so
 * the two can never disagree.
 */
export interface SmsdSpool {
  /** The smsdrc it was read from. */
  file: string;
  outbox: string;
  sent: string;
  error: string;
  inbox: string;
  inboxFormat: 'unicode' | 'standard';
  /** Seconds the daemon waits before rescanning an empty outbox: the worst-case pickup delay. */
  commTimeout: number;
}

/** A problem with the smsdrc, naming its key (`[smsd] SentSMSPath`). */
export class SmsdrcError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'SmsdrcError';
  }
}

/**
 * gammu's INI dialect (gammu "ini" docs): `[section]`, `key = value`, comments start with `;` or
 * `#`, section and key names are case-insensitive. Values are not quoted.
 */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      const name = head[1]!.trim().toLowerCase();
      section = out.get(name) ?? new Map();
      out.set(name, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) continue;
    section.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Read and check an smsdrc. Every problem is reported at once; each names the key and what to write.
 * The rules come from gammu's FILES backend (smsd/services/files.c, gammu-smsdrc(5)):
 * - paths are joined to file names by plain concatenation, so each needs its trailing `/`;
 * - without SentSMSPath the daemon deletes sent messages and without ErrorSMSPath it puts failed ones
 *   with the sent ones: then "sent" could not be told from "failed", so both are required and distinct;
 * - TransmitFormat defaults to 7bit, which turns Chinese text into question marks: auto or unicode;
 * - InboxFormat detail is gammu's backup format, not a message text.
 */
export function readSmsdrc(file: string): SmsdSpool {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SmsdrcError(file, [`cannot read the gammu-smsd configuration: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  const smsd = parseIni(text).get('smsd');
  if (!smsd) throw new SmsdrcError(file, ['no [smsd] section']);
  const problems: string[] = [];
  const get = (k: string) => smsd.get(k.toLowerCase());

  const service = (get('Service') ?? '').toLowerCase();
  if (service !== 'files') problems.push(`[smsd] Service is "${get('Service') ?? ''}": Red Butler talks to gammu-smsd through its FILES backend, set "Service = files"`);

  const path = (key: string): string => {
    const v = get(key);
    if (!v) {
      problems.push(`[smsd] ${key} is missing: set it to an absolute folder ending in "/"`);
      return '';
    }
    if (!isAbsolute(v)) problems.push(`[smsd] ${key} "${v}" is relative (to the daemon's working folder): use an absolute path`);
    if (!v.endsWith('/')) problems.push(`[smsd] ${key} "${v}" needs a trailing "/" (gammu appends file names to it as they are)`);
    return v;
  };
  const outbox = path('OutboxPath');
  const sent = path('SentSMSPath');
  const error = path('ErrorSMSPath');
  const inbox = path('InboxPath');
  if (sent && sent === outbox) problems.push('[smsd] SentSMSPath equals OutboxPath: gammu then deletes sent messages and a send cannot be confirmed; use its own folder');
  if (error && (error === sent || error === outbox)) problems.push('[smsd] ErrorSMSPath must be its own folder, or a failed message looks sent');

  const transmit = (get('TransmitFormat') ?? '7bit').toLowerCase();
  if (transmit !== 'auto' && transmit !== 'unicode') problems.push(`[smsd] TransmitFormat is "${transmit}": 7bit turns Chinese text into "?", set "TransmitFormat = auto"`);

  // files.c falls back to "standard" for a missing or unknown value.
  const inf = (get('InboxFormat') ?? 'standard').toLowerCase();
  if (inf === 'detail') problems.push('[smsd] InboxFormat detail is gammu\'s backup format: set "InboxFormat = unicode"');
  const inboxFormat = inf === 'unicode' ? 'unicode' : 'standard';

  const ct = Number(get('CommTimeout') ?? 30);
  const commTimeout = Number.isFinite(ct) && ct >= 0 ? ct : 30;

  if (problems.length) throw new SmsdrcError(file, problems);
  return { file, outbox, sent, error, inbox, inboxFormat, commTimeout };
}
