import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wecomRobotChannel } from '../../../hub/notify/channels/wecom-robot.js';
import { freePort } from '../../support/ports.js';
import { wecomRobotFake } from '../../support/providers/wecom-robot.js';
import { channelConformance, message } from './channel-conformance.js';
import type { HttpFake } from '../../support/providers/http-fake.js';

const log = pino({ level: 'silent' });
const KEY = '693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';
const make = (id: string, over: Record<string, unknown>) => wecomRobotChannel.create(id, wecomRobotChannel.config.parse(over), { log });

channelConformance('WeCom group robot', async () => {
  const provider = await wecomRobotFake({ key: KEY }).start();
  return {
    channel: make('robot-xingfuli', { key: KEY, baseUrl: provider.baseUrl }),
    badSecretChannel: make('robot-bad', { key: 'ffffffff-0000-4bc4-97a0-000000000000', baseUrl: provider.baseUrl }),
    unreachableChannel: make('robot-nowhere', { key: KEY, baseUrl: `http://127.0.0.1:${await freePort()}` }),
    provider,
    address: { kind: 'group' },
    secrets: [KEY],
    // The group robot has no idempotency key (documented in docs/notifications.md).
    idempotent: false,
    close: () => provider.close(),
  };
});

describe('WeCom group robot, beyond the suite', () => {
  let provider: HttpFake;
  beforeAll(async () => {
    provider = await wecomRobotFake({ key: KEY, perMinute: 3 }).start();
  });
  afterAll(() => provider.close());
  const signal = () => ({ signal: AbortSignal.timeout(5000) });

  it('sends text with @all and mobiles, and the ack link last', async () => {
    const ch = make('r1', { key: KEY, baseUrl: provider.baseUrl, mentionAll: true, mentionMobiles: ['13800138000'] });
    const msg = message({ kind: 'group' }, { text: '幸福里 3号楼单元门 02:58 强行开门。' });
    await ch.send(msg, signal());
    const body = provider.requests.at(-1)!.json as { msgtype: string; text: { content: string; mentioned_list: string[]; mentioned_mobile_list: string[] } };
    expect(body.msgtype).toBe('text');
    expect(body.text.mentioned_list).toEqual(['@all']);
    expect(body.text.mentioned_mobile_list).toEqual(['13800138000']);
    expect(body.text.content.startsWith(msg.title)).toBe(true);
    expect(body.text.content.endsWith(msg.ackUrl!)).toBe(true);
  });

  it('markdown: a bold title and a clickable 确认 link; a long text is cut to 4096 bytes, never the link', async () => {
    const ch = make('r2', { key: KEY, baseUrl: provider.baseUrl, msgtype: 'markdown' });
    const msg = message({ kind: 'group' });
    await ch.send({ ...msg, text: `${'强行开门'.repeat(600)} ${msg.ackUrl}` }, signal());
    const content = (provider.requests.at(-1)!.json as { markdown: { content: string } }).markdown.content;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    expect(content.startsWith(`**${msg.title}**`)).toBe(true);
    expect(content.endsWith(`[确认](${msg.ackUrl})`)).toBe(true);
  });

  it('the 21st message of a minute (here the 4th of 3) is RB_ERR_NOTIFY_RATE_LIMITED with a minute to wait', async () => {
    const ch = make('r3', { key: KEY, baseUrl: provider.baseUrl });
    await ch.send(message({ kind: 'group' }), signal());
    const err = await ch.send(message({ kind: 'group' }), signal()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RB_ERR_NOTIFY_RATE_LIMITED', retryable: true, retryAfterMs: 60_000 });
    expect(String(err)).toContain('45009');
  });

  it('maps WeCom errcodes: -1 busy is retried, 93000 is auth, 45002 is rejected', async () => {
    const ch = make('r4', { key: KEY, baseUrl: provider.baseUrl });
    const cases: [number, string][] = [
      [-1, 'RB_ERR_NOTIFY_UNAVAILABLE'],
      [93000, 'RB_ERR_NOTIFY_AUTH'],
      [45002, 'RB_ERR_NOTIFY_REJECTED'],
    ];
    for (const [errcode, code] of cases) {
      provider.answerNext({ status: 200, body: { errcode, errmsg: 'x' } });
      await expect(ch.send(message({ kind: 'group' }), signal())).rejects.toMatchObject({ code });
    }
  });

  it('a provider answer that echoes the key does not carry it into the error', async () => {
    const ch = make('r5', { key: KEY, baseUrl: provider.baseUrl });
    provider.answerNext({ status: 200, body: { errcode: 93000, errmsg: `invalid webhook url, key ${KEY}` } });
    const err = await ch.send(message({ kind: 'group' }), signal()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RB_ERR_NOTIFY_AUTH' });
    expect(String(err)).toContain('93000');
    expect(String(err)).not.toContain(KEY);
  });

  it('declares its key a secret and describes every config key', () => {
    expect(wecomRobotChannel.secrets).toEqual(['key']);
    for (const [k, v] of Object.entries(wecomRobotChannel.config.shape)) expect(v.description, k).toMatch(/\S{3}/);
    expect(wecomRobotChannel.config.parse({ key: KEY }).perMinute).toBe(20);
  });
});
