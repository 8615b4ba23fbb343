import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { readSmsdrc, SmsdrcError } from '../../../lib/gammu/smsdrc.js';
import { ChannelError, type Channel, type InboundReply } from '../../../hub/notify/channel.js';
import { gammuChannel } from '../../../hub/notify/channels/gammu.js';
import { gammuProvider, startGammuSmsd, type GammuSmsd } from '../../support/gammu.js';
import { channelConformance, message } from './channel-conformance.js';

const PIN = '86429753';
const log = silentLogger();

function channel(smsd: GammuSmsd, id = 'modem'): Channel {
  return gammuChannel.create(id, gammuChannel.config.parse({ smsdrc: smsd.smsdrc, pidFile: smsd.pidFile, pollMs: 100 }), { log });
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

channelConformance('gammu-smsd on the fake phone', async () => {
  const smsd = await startGammuSmsd({ pin: PIN });
  // "Unreachable" for a modem: its daemon is not running.
  const stopped = await startGammuSmsd();
  await stopped.stop();
  const provider = gammuProvider(smsd);
  return {
    channel: channel(smsd),
    provider,
    address: { kind: 'phone', phone: '+8613800138000' },
    secrets: [PIN],
    modes: ['server-error', 'timeout'],
    unreachableChannel: channel(stopped, 'modem-down'),
    async close() {
      await provider.settled();
      await smsd.close();
      await stopped.close();
    },
  };
});

describe('gammu channel with the real daemon', () => {
  let smsd: GammuSmsd;
  let ch: Channel;
  const signal = () => AbortSignal.timeout(10_000);

  beforeAll(async () => {
    smsd = await startGammuSmsd();
    ch = channel(smsd);
  });
  afterAll(async () => {
    await ch?.close?.();
    await smsd?.close();
  });

  it('a message reaches the phone: the daemon transmits it and moves it to sent/, Chinese text intact', async () => {
    const msg = message({ kind: 'phone', phone: '138 0013 8000' });
    const t0 = Date.now();
    const out = await ch.send(msg, { signal: signal() });
    const elapsed = Date.now() - t0;
    expect(out.state).toBe('sent');
    // The provider id is the spool file's name with the number's middle masked (it is shown on the alert view).
    expect(out.providerId).toBe(`OUTB_138****8000_${msg.id}.txt`);
    expect(smsd.sentFiles()).toContain(`OUTB_13800138000_${msg.id}.txt`);
    expect(smsd.log()).toContain(`Transmitted OUTB_13800138000_${msg.id}.txt (total: 1) to 13800138000`);
    const sent = gammuProvider(smsd).accepted.find((a) => a.idempotencyKey === msg.id)!;
    expect(sent.text).toBe(msg.text);
    expect(sent.to).toBe('13800138000');
    // CommTimeout = 1: picked up within about a second, well inside the 5 s an alarm allows.
    expect(elapsed).toBeLessThan(5_000);
  });

  it('a retry with the same id neither queues nor sends it twice', async () => {
    const msg = message({ kind: 'phone', phone: '+8613900139000' }, { severity: 5 });
    const name = `OUTA_+8613900139000_${msg.id}.txt`;
    // First attempt: the modem hangs, the outbox gives up waiting; the file stays queued.
    smsd.pause();
    const err = await ch.send(msg, { signal: AbortSignal.timeout(400) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect((err as ChannelError).code).toBe('RB_ERR_NOTIFY_TIMEOUT');
    expect(readdirSync(smsd.spool.outbox)).toEqual([name]);
    // The retry (as after a hub crash) finds it by name and waits for it instead of queuing again.
    const retry = ch.send(msg, { signal: signal() });
    await new Promise((r) => setTimeout(r, 300));
    expect(readdirSync(smsd.spool.outbox)).toEqual([name]);
    smsd.resume();
    const masked = name.replace(/(\d{3})\d{4}(\d{4})_/, '$1****$2_');
    expect(masked).not.toBe(name);
    expect((await retry).providerId).toBe(masked);
    // Once more after it was sent: answered from sent/, nothing new queued.
    expect(await ch.send(msg, { signal: signal() })).toEqual({ state: 'sent', providerId: masked });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(smsd.sentFiles().filter((n) => n === name)).toHaveLength(1);
    expect(smsd.log().split('\n').filter((l) => l.includes(`Transmitted ${name}`))).toHaveLength(1);
    expect(readdirSync(smsd.spool.outbox)).toEqual([]);
  });

  it('a reply "1" from the phone arrives as an InboundReply with the number, once', async () => {
    const replies: InboundReply[] = [];
    const off = ch.onReply!((r) => {
      replies.push(r);
    });
    const t0 = Date.now();
    await smsd.receive('+8613800138000', '1');
    await smsd.receive('13700137000', '1 收到');
    await until('two replies', () => replies.length >= 2);
    const byFrom = Object.fromEntries(replies.map((r) => [r.from, r]));
    expect(byFrom['+8613800138000']).toMatchObject({ channelId: 'modem', text: '1' });
    expect(byFrom['13700137000']).toMatchObject({ channelId: 'modem', text: '1 收到' });
    expect(byFrom['+8613800138000']!.receivedAt).toBeGreaterThanOrEqual(t0 - 1_000);
    // The daemon wrote the IN… files itself; handled ones are set aside and never offered again.
    const done = readdirSync(join(smsd.spool.inbox, 'processed'));
    expect(done.some((n) => /^IN\d{8}_\d{6}_\d{2}_\+8613800138000_00\.txt$/.test(n))).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(replies).toHaveLength(2);
    off();
  });

  it('a reply the hub fails to take is offered again', async () => {
    let calls = 0;
    const got: InboundReply[] = [];
    const off = ch.onReply!(async (r) => {
      if (++calls === 1) throw new Error('database unavailable');
      got.push(r);
    });
    await smsd.receive('+8613600136000', '1');
    await until('the second offer', () => got.length === 1);
    expect(got[0]!.from).toBe('+8613600136000');
    off();
  });

  it('a stopped daemon: unavailable at once, and nothing is left in the outbox to go out later', async () => {
    const other = await startGammuSmsd();
    const c = channel(other, 'modem-2');
    try {
      await other.stop();
      const msg = message({ kind: 'phone', phone: '13800138000' });
      // A file an earlier attempt left behind (queued just before the daemon died).
      await writeFile(join(other.spool.outbox, `OUTB_13800138000_${msg.id}.txt`), 'x');
      const err = (await c.send(msg, { signal: signal() }).catch((e: unknown) => e)) as ChannelError;
      expect(err.code).toBe('RB_ERR_NOTIFY_UNAVAILABLE');
      expect(err.retryable).toBe(true);
      expect(readdirSync(other.spool.outbox)).toEqual([]);
      // Back up: the retry goes through.
      await other.start();
      expect((await c.send(msg, { signal: signal() })).state).toBe('sent');
    } finally {
      await c.close?.();
      await other.close();
    }
  });

  it('refuses what a modem cannot send', async () => {
    const e1 = (await ch.send(message({ kind: 'group' }), { signal: signal() }).catch((e: unknown) => e)) as ChannelError;
    expect(e1.code).toBe('RB_ERR_NOTIFY_REJECTED');
    const e2 = (await ch.send(message({ kind: 'phone', phone: '../../etc/x' }), { signal: signal() }).catch((e: unknown) => e)) as ChannelError;
    expect(e2.code).toBe('RB_ERR_NOTIFY_REJECTED');
    expect(e2.retryable).toBe(false);
  });
});

describe('smsdrc checks', () => {
  it('names every key that would lose or garble messages', async () => {
    const smsd = await startGammuSmsd();
    try {
      expect(readSmsdrc(smsd.smsdrc)).toMatchObject({ outbox: smsd.spool.outbox, sent: smsd.spool.sent, inboxFormat: 'unicode', commTimeout: 1 });
      const bad = join(smsd.dir, 'bad-smsdrc');
      await writeFile(bad, ['[gammu]', 'model = dummy', '[SMSD]', 'service = FILES', 'outboxpath = /var/spool/gammu/outbox', 'sentsmspath = /var/spool/gammu/outbox', 'inboxpath = inbox/', '; a comment', ''].join('\n'));
      let err: SmsdrcError | undefined;
      try {
        readSmsdrc(bad);
      } catch (e) {
        err = e as SmsdrcError;
      }
      expect(err).toBeInstanceOf(SmsdrcError);
      const text = err!.problems.join('\n');
      expect(text).toContain('[smsd] OutboxPath "/var/spool/gammu/outbox" needs a trailing "/"');
      expect(text).toContain('[smsd] SentSMSPath equals OutboxPath');
      expect(text).toContain('[smsd] ErrorSMSPath is missing');
      expect(text).toContain('[smsd] InboxPath "inbox/" is relative');
      expect(text).toContain('[smsd] TransmitFormat is "7bit"');
      expect(existsSync(bad)).toBe(true);
      expect(() => gammuChannel.create('x', gammuChannel.config.parse({ smsdrc: bad }), { log })).toThrow(SmsdrcError);
    } finally {
      await smsd.close();
    }
  });
});
