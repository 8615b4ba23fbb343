import { createHmac } from 'node:crypto';
import { HttpFake, type FakeAnswer, type FakeRequest } from './http-fake.js';

/**
 * A local receiver of the generic signed webhook (docs/notifications.md): it checks the signature on
 * its own, as a receiving platform written from the document would (hex HMAC-SHA256 of
 * "<X-RedButler-Timestamp>.<raw body>", timestamp within 5 minutes), answers 401 when it does not
 * hold, deduplicates on Idempotency-Key (a repeat is answered 200 with the first id, not taken
 * twice), and answers 429 with Retry-After when rate limited, 503 on a server error.
 */

export interface WebhookFakeOptions {
  secret: string;
  path?: string;
}

export function webhookFake(o: WebhookFakeOptions): HttpFake & { url: () => string; duplicates: string[] } {
  const path = o.path ?? '/hooks/red-butler';
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  let n = 0;
  const handle = (req: FakeRequest): FakeAnswer => {
    if (req.method !== 'POST' || req.url.pathname !== path) return { status: 404, body: { error: 'no such hook' } };
    const ts = String(req.headers['x-redbutler-timestamp'] ?? '');
    const sig = String(req.headers['x-redbutler-signature'] ?? '');
    const expected = `sha256=${createHmac('sha256', o.secret).update(Buffer.concat([Buffer.from(`${ts}.`), req.raw])).digest('hex')}`;
    if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300 || sig !== expected) {
      fake.refused.push('signature');
      return { status: 401, body: { error: 'bad signature' } };
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return { status: 415, body: { error: 'json only' } };
    const b = req.json as { id?: unknown; title?: unknown; text?: unknown; params?: unknown; to?: { kind?: string; phone?: string; userId?: string } } | undefined;
    if (!b || typeof b.id !== 'string' || typeof b.text !== 'string' || typeof b.title !== 'string') return { status: 422, body: { error: 'missing fields' } };
    const key = String(req.headers['idempotency-key'] ?? '');
    if (!key) return { status: 400, body: { error: 'Idempotency-Key required' } };
    const first = seen.get(key);
    if (first) {
      duplicates.push(key);
      return { status: 200, body: { id: first, duplicate: true } };
    }
    const id = `rcv-${++n}`;
    seen.set(key, id);
    const to = b.to?.kind === 'phone' ? b.to.phone! : b.to?.kind === 'wecom-user' ? b.to.userId! : 'group';
    fake.accepted.push({ to, text: `${b.title}\n${b.text}`, idempotencyKey: key });
    return { status: 202, body: { id } };
  };
  const fake = new HttpFake({
    failure: (mode) => (mode === 'rate-limited' ? { status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '2' } } : { status: 503, body: { error: 'maintenance' } }),
    handle,
  }) as HttpFake & { url: () => string; duplicates: string[] };
  fake.url = () => `${fake.baseUrl}${path}`;
  fake.duplicates = duplicates;
  return fake;
}
