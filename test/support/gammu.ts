import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeSmsText, parseOutboxName } from '../../lib/gammu/outbox.js';

/**
 * A real gammu-smsd (Debian package gammu-smsd) on gammu's own fake phone: `[gammu] model = dummy`,
 * whose "device" is a folder where the phone keeps its messages (sms/1 … sms/5, gammu backup format;
 * libgammu/phone/dummy/dummy.c), as gammu's upstream smsd tests run it (smsd/test-smsd.sh.in). The
 * daemon runs in the foreground with the FILES backend on spool folders in a temp dir, its pid
 * tracked and stopped by that pid.
 *
 * The fake phone "sends" by encoding the PDU and reporting success; it keeps no copy, so what was
 * sent is what the daemon moved to sent/ (it moves only after the phone reported success) and the
 * "Transmitted" lines of its log. Incoming messages are put into the fake phone's inbox folder with
 * the gammu command line tool (Debian package gammu), so the daemon itself reads them from the phone
 * and writes the IN…txt files.
 */

const run = promisify(execFile);

export interface GammuSmsd {
  dir: string;
  smsdrc: string;
  pidFile: string;
  /** The fake phone's folder. */
  phoneDir: string;
  spool: { outbox: string; sent: string; error: string; inbox: string };
  /** The daemon's pid while it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** (Re)start the daemon; resolves when it has started talking to the phone. */
  start(): Promise<void>;
  /** SIGTERM by pid and wait for the exit. */
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: a daemon that hangs (a modem that stopped answering). */
  pause(): void;
  resume(): void;
  /** An SMS from `from` arrives at the fake phone's inbox (SIM folder 1). */
  receive(from: string, text: string): Promise<void>;
  /** Names of the files in sent/ (oldest first). */
  sentFiles(): string[];
  /** The daemon's log so far. */
  log(): string;
  /** Stop and delete the temp dir. */
  close(): Promise<void>;
}

function need(bin: string, pkg: string): string {
  for (const dir of ['/usr/bin', '/usr/local/bin']) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      /* next */
    }
  }
  throw new Error(`${bin} (Debian package "${pkg}") is not installed: run scripts/ensure-deps.sh`);
}

export interface GammuSmsdOptions {
  /** A SIM PIN written into the smsdrc (the dummy phone never asks for it): a secret for redaction tests. */
  pin?: string;
  /** Extra `[smsd]` lines. */
  extra?: string[];
}

export async function startGammuSmsd(opts: GammuSmsdOptions = {}): Promise<GammuSmsd> {
  const smsdBin = need('gammu-smsd', 'gammu-smsd');
  const gammuBin = need('gammu', 'gammu');
  const dir = await mkdtemp(join(tmpdir(), 'rb-gammu-'));
  const phoneDir = join(dir, 'phone');
  const spool = { outbox: join(dir, 'outbox/'), sent: join(dir, 'sent/'), error: join(dir, 'error/'), inbox: join(dir, 'inbox/') };
  for (const f of [1, 2, 3, 4, 5]) await mkdir(join(phoneDir, 'sms', String(f)), { recursive: true });
  for (const d of Object.values(spool)) await mkdir(d, { recursive: true });
  const smsdrc = join(dir, 'smsdrc');
  const pidFile = join(dir, 'smsd.pid');
  const logFile = join(dir, 'smsd.log');
  await writeFile(
    smsdrc,
    [
      '[gammu]',
      'model = dummy',
      'connection = none',
      `device = ${phoneDir}`,
      '',
      '[smsd]',
      'Service = files',
      ...(opts.pin ? [`PIN = ${opts.pin}`] : []),
      `LogFile = ${logFile}`,
      'DebugLevel = 1',
      `InboxPath = ${spool.inbox}`,
      `OutboxPath = ${spool.outbox}`,
      `SentSMSPath = ${spool.sent}`,
      `ErrorSMSPath = ${spool.error}`,
      'InboxFormat = unicode',
      'OutboxFormat = unicode',
      'TransmitFormat = auto',
      // Look at the outbox and the phone every second (defaults: 30 s and 15 s).
      'CommTimeout = 1',
      'ReceiveFrequency = 1',
      'LoopSleep = 1',
      'StatusFrequency = 0',
      'CheckSecurity = 0',
      'CheckBattery = 0',
      'CheckSignal = 0',
      'CheckNetwork = 0',
      ...(opts.extra ?? []),
      '',
    ].join('\n'),
  );
  const env = { ...process.env, LC_ALL: 'C.UTF-8' };
  let proc: ChildProcess | undefined;
  let stderr = '';
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const smsd: GammuSmsd = {
    dir,
    smsdrc,
    pidFile,
    phoneDir,
    spool,
    get pid() {
      return proc && proc.exitCode === null && proc.signalCode === null ? proc.pid : undefined;
    },
    get running() {
      return this.pid !== undefined;
    },
    async start() {
      if (smsd.running) return;
      const startedAt = readLog().length;
      const p = spawn(smsdBin, ['-c', smsdrc, '-p', pidFile], { stdio: ['ignore', 'ignore', 'pipe'], env });
      proc = p;
      p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const deadline = Date.now() + 15_000;
      while (!readLog().slice(startedAt).includes('Starting phone communication')) {
        if (p.exitCode !== null || p.signalCode !== null || Date.now() > deadline) {
          p.kill('SIGKILL');
          throw new Error(`gammu-smsd did not start (exit ${p.exitCode}): ${stderr.slice(-1000)} ${readLog().slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGCONT'); // a paused daemon only acts on SIGTERM once it runs again
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
    pause() {
      proc?.kill('SIGSTOP');
    },
    resume() {
      proc?.kill('SIGCONT');
    },
    async receive(from, text) {
      // `gammu savesms TEXT -folder 1` stores it through the dummy driver into sms/1/<n>, the SIM inbox.
      await run(gammuBin, ['-c', smsdrc, 'savesms', 'TEXT', '-folder', '1', '-sender', from, '-unicode', '-text', text], { env, timeout: 15_000 });
    },
    sentFiles() {
      return readdirSync(spool.sent)
        .filter((n) => n.startsWith('OUT'))
        .map((n) => ({ n, t: statSync(join(spool.sent, n)).mtimeMs }))
        .sort((a, b) => a.t - b.t || a.n.localeCompare(b.n))
        .map((x) => x.n);
    },
    log: readLog,
    async close() {
      await smsd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await smsd.start();
  return smsd;
}

/** The conformance suite's view of the daemon + fake phone as a "provider". */
export interface GammuProvider {
  readonly accepted: { to: string; text: string; idempotencyKey?: string }[];
  readonly refused: string[];
  failNext(mode: 'server-error' | 'timeout' | 'rate-limited', n?: number): void;
  /** Resolves when any fault injection has ended. */
  settled(): Promise<void>;
}

/**
 * - accepted: the messages in sent/ (the daemon moves a file there only after the phone reported the
 *   send as done), with the recipient and serial from the file name and the text the daemon read.
 * - timeout: the daemon hangs (SIGSTOP) until `n` new messages have waited in the outbox for
 *   `holdMs`, then runs again and sends them.
 * - server-error: the daemon is held the same way, and each new message is moved to error/ exactly
 *   as gammu-smsd does when the phone refuses a send (smsd/core.c: MoveSMS(…, sent = FALSE) renames
 *   it from OutboxPath into ErrorSMSPath). gammu's dummy phone itself never refuses a send
 *   (DUMMY_SendSMS always reports success), so this step stands in for the refusing phone.
 */
export function gammuProvider(smsd: GammuSmsd, holdMs = 1_500): GammuProvider {
  let fault: Promise<void> = Promise.resolve();
  return {
    get accepted() {
      return smsd.sentFiles().map((name) => {
        const p = parseOutboxName(name);
        const text = decodeSmsText(readFileSync(join(smsd.spool.sent, name)));
        return p ? { to: p.phone, text, idempotencyKey: p.serial } : { to: name, text };
      });
    },
    refused: [],
    failNext(mode, n = 1) {
      if (mode === 'rate-limited') throw new Error('a GSM modem has no rate-limit answer');
      smsd.pause();
      const before = new Set(readdirSync(smsd.spool.outbox));
      fault = (async () => {
        const seen: string[] = [];
        const deadline = Date.now() + 30_000;
        while (seen.length < n && Date.now() < deadline) {
          for (const name of readdirSync(smsd.spool.outbox)) {
            if (name.startsWith('OUT') && !before.has(name) && !seen.includes(name)) seen.push(name);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        if (mode === 'server-error') {
          for (const name of seen) await rename(join(smsd.spool.outbox, name), join(smsd.spool.error, name));
        } else {
          await new Promise((r) => setTimeout(r, holdMs));
        }
        smsd.resume();
      })();
    },
    settled: () => fault,
  };
}

/** The text of a file in the daemon's inbox or sent folder. */
export async function spoolText(path: string): Promise<string> {
  return decodeSmsText(await readFile(path));
}
