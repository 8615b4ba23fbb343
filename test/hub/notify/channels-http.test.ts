import { describe, expect, it } from 'vitest';
import { clipBytes, plainBody, retryAfterMs, scrub } from '../../../hub/notify/channels/http.js';

describe('IM channel helpers (hub/notify/channels/http.ts)', () => {
  it('clipBytes cuts UTF-8 at a character boundary and marks the cut', () => {
    expect(clipBytes('强行开门', 100)).toBe('强行开门');
    const cut = clipBytes('强行开门强行开门', 10); // 3 bytes a character
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(10);
    expect(cut).toBe('强行…');
  });

  it('plainBody keeps the title, the ack link and the footer whole when it shortens', () => {
    const msg = { title: '【红管家】强行开门', text: `${'门'.repeat(2000)} 确认：http://h/a/tok`, ackUrl: 'http://h/a/tok' };
    const body = plainBody(msg, 2048, '编号 01ABC');
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2048);
    expect(body.startsWith('【红管家】强行开门\n')).toBe(true);
    expect(body.endsWith('\nhttp://h/a/tok\n编号 01ABC')).toBe(true);
    // Short: as written, the link not repeated.
    expect(plainBody({ ...msg, text: '强行开门 http://h/a/tok' })).toBe('【红管家】强行开门\n强行开门 http://h/a/tok');
    expect(plainBody({ title: 't', text: 'x', ackUrl: 'http://h/a/1' })).toBe('t\nx\nhttp://h/a/1');
  });

  it('retryAfterMs reads delay-seconds and HTTP-dates', () => {
    expect(retryAfterMs('120')).toBe(120_000);
    expect(retryAfterMs(new Date(10_000 + 5_000).toUTCString(), 10_000)).toBe(5_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('scrub replaces every credential, wherever it appears', () => {
    expect(scrub('key=abcdef123456 and abcdef123456', ['abcdef123456', undefined])).toBe('key=[redacted short] and [redacted short]');
  });
});
