import { z } from 'zod';
import { watchInbox, type InboxWatch } from '../../../lib/gammu/inbox.js';
import { daemonRunning, normalisePhone, outboxName, SmsOutbox } from '../../../lib/gammu/outbox.js';
import { readSmsdrc } from '../../../lib/gammu/smsdrc.js';
import { ChannelError, type Channel, type ChannelPlugin, type InboundReply, type OutgoingMessage, type SendOptions, type SendOutcome } from '../channel.js';

/**
 * A local GSM modem through the Debian package gammu-smsd (FILES backend): for sites without an SMS
 * account and for the gateway's own warnings when the hub is unreachable. The daemon owns the modem;
 * this channel only writes outbox files, watches them move to sent/ or error/, and reads the inbox
 * for replies ("1" acknowledges). File format and folders: lib/gammu/ and gammu-smsd-files(7).
 */
const config = z.object({
  smsdrc: z
    .string()
    .min(1)
    .default('/etc/gammu-smsdrc')
    .describe('The gammu-smsd configuration file (gammu-smsdrc(5)) of the daemon that owns the modem. Its [smsd] section must use "Service = files" with absolute OutboxPath, SentSMSPath, ErrorSMSPath and InboxPath (each its own folder, trailing "/"), "TransmitFormat = auto" and preferably "InboxFormat = unicode" and a small CommTimeout (1-2 s).'),
  pidFile: z
    .string()
    .min(1)
    .optional()
    .describe('The daemon\'s pid file (`gammu-smsd --pid=FILE`; Debian\'s unit writes /run/gammu-smsd.pid). When set, a send while the daemon is not running fails at once as unavailable and leaves nothing in the outbox to go out hours later; without it such a send waits until the outbox gives up (timeout).'),
  perMinute: z.number().int().positive().default(6).describe('Messages per minute the outbox hands to the modem (a GSM modem sends one SMS in about 3-6 s; operators flag SIMs that send bursts).'),
  pollMs: z.number().int().min(50).max(10_000).default(250).describe('How often (ms) the channel looks whether a queued message has moved to sent/ or error/, and at the inbox for replies.'),
  processedPath: z.string().min(1).optional().describe('Where handled received messages are moved (default: the "processed/" folder inside InboxPath).'),
});

type GammuConfig = z.output<typeof config>;

/** Severity 4-5 first, then 3, then the rest: the daemon sends in file-name order (OUTA… before OUTC…). */
const priority = (severity: number) => (severity >= 4 ? 'A' : severity >= 3 ? 'B' : 'C');

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export const gammuChannel: ChannelPlugin<typeof config> = {
  type: 'gammu',
  config,
  // The plugin's own keys hold no secret; the SIM PIN stays in the smsdrc, which is never read out.
  secrets: [],
  create(id, cfg: GammuConfig, deps): Channel {
    const spool = readSmsdrc(cfg.smsdrc);
    const log = deps.log.child({ module: 'hub.notify.gammu', channel: id });
    if (spool.commTimeout > 5) log.warn({ smsdrc: spool.file, commTimeout: spool.commTimeout }, 'gammu-smsd rescans an empty outbox only every CommTimeout seconds: set "CommTimeout = 1" in [smsd] for alerts');
    const outbox = new SmsOutbox(spool);
    const alive = async () => (cfg.pidFile ? daemonRunning(cfg.pidFile) : true);
    const listeners = new Set<(r: InboundReply) => void | Promise<void>>();
    let inbox: InboxWatch | undefined;
    let closed = false;

    const unavailable = () => new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `gammu-smsd is not running (pid file ${cfg.pidFile}); nothing was queued`);

    async function send(msg: OutgoingMessage, opts: SendOptions): Promise<SendOutcome> {
      if (msg.to.kind !== 'phone') throw new ChannelError('RB_ERR_NOTIFY_REJECTED', `the gammu channel sends to phone numbers, not to a ${msg.to.kind} address`);
      const phone = normalisePhone(msg.to.phone);
      if (!phone) throw new ChannelError('RB_ERR_NOTIFY_REJECTED', 'the address is not a phone number (digits with an optional leading +)');
      const sms = { id: msg.id, phone, text: msg.text, priority: priority(msg.severity) };
      const name = outboxName(sms);
      // What rows, errors and logs may show: the file name with the number's middle masked (REST
      // answers and the alert view never carry a whole number).
      const shown = name.replace(phone, phone.length > 7 ? `${phone.slice(0, phone.length - 8)}****${phone.slice(-4)}` : '****');
      try {
        let state = await outbox.state(name);
        if (state === 'sent') return { state: 'sent', providerId: shown };
        if (!(await alive())) {
          // Nobody can be sending it: take back what an earlier attempt left, so that a daemon
          // started hours later does not send a stale alarm.
          if (state === 'queued') await outbox.withdraw(name);
          throw unavailable();
        }
        if (state === 'error') {
          await outbox.clearError(name);
          state = 'absent';
        }
        if (state === 'absent') {
          if (opts.signal.aborted) throw new ChannelError('RB_ERR_NOTIFY_TIMEOUT', 'aborted before the message was queued');
          await outbox.queue(sms);
          log.debug({ file: shown }, 'queued for gammu-smsd');
        }
        for (;;) {
          await abortable(cfg.pollMs, opts.signal);
          state = await outbox.state(name);
          if (state === 'sent') return { state: 'sent', providerId: shown };
          if (state === 'error') throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `gammu-smsd could not send ${shown} (moved to ErrorSMSPath; the daemon's log says why)`);
          if (state === 'absent') throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `${shown} left the outbox but is in neither SentSMSPath nor ErrorSMSPath`);
          if (!(await alive())) {
            await outbox.withdraw(name);
            throw unavailable();
          }
          if (opts.signal.aborted) {
            // Still queued with a live daemon: it may be sending it right now, so it stays; a
            // retry with the same id finds it by name and waits for it instead of queuing it again.
            throw new ChannelError('RB_ERR_NOTIFY_TIMEOUT', `${shown} is still waiting in gammu-smsd's outbox`);
          }
        }
      } catch (err) {
        if (err instanceof ChannelError) throw err;
        // A file-system error: the message (paths, errno) names no secret.
        throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `gammu spool: ${(err as Error).message}`);
      }
    }

    function startInbox(): void {
      if (inbox || closed) return;
      inbox = watchInbox({
        inbox: spool.inbox,
        ...(cfg.processedPath ? { processed: cfg.processedPath } : {}),
        pollMs: cfg.pollMs,
        log,
        async onMessage(sms) {
          const reply: InboundReply = { channelId: id, from: sms.from, text: sms.text, receivedAt: sms.receivedAt };
          for (const fn of listeners) await fn(reply);
        },
      });
    }

    return {
      type: 'gammu',
      id,
      accepts: ['phone'],
      perMinute: cfg.perMinute,
      send,
      onReply(fn) {
        listeners.add(fn);
        startInbox();
        return () => {
          listeners.delete(fn);
          // Nobody to hand replies to: stop reading, so the files stay for the next subscriber.
          if (listeners.size === 0) {
            const w = inbox;
            inbox = undefined;
            void w?.close();
          }
        };
      },
      async close() {
        closed = true;
        await inbox?.close();
      },
    };
  },
};
