import { createDecipheriv, createECDH, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { importJWK, jwtVerify } from 'jose';
import type { AcceptedRequest, FailureMode, FakeProvider } from '../../hub/notify/channel-conformance.js';

/**
 * A local Web Push service (RFC 8030) on 127.0.0.1 that is also the browser's decrypting half: it
 * checks each push request as RFC 8292 (VAPID) says and decrypts its body as RFC 8291 / RFC 8188
 * (aes128gcm) say, with the subscription's own private key and auth secret. The decryption is
 * written here from the RFCs, apart from the `web-push` library the channel uses, so it checks that
 * library instead of trusting it (test/hub/notify/webpush.test.ts runs it on RFC 8291's published
 * example first).
 *
 * Answers as a push service does: 201 + Location for an accepted message; 400 for a malformed request
 * (no TTL, another Content-Encoding, a body that does not decrypt); 401 for a missing or invalid VAPID
 * token (RFC 8292 §4); 403 when the key does not match the one the subscription was made with
 * (RFC 8292 §4.2); 404/410 for a subscription that does not exist / has expired; 413 over 4096 bytes
 * (RFC 8030 §7.2); 429 + Retry-After when told to rate-limit; 503 when told to fail.
 */

/** A browser's subscription as the push service and the browser both know it. */
export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  /** The browser's ECDH private key (never leaves the browser in real life). */
  privateKey: Buffer;
  /** The VAPID public key it was made with (`applicationServerKey`), base64url; none = unrestricted. */
  applicationServerKey?: string;
}

export interface ReceivedPush {
  endpoint: string;
  ttl: number;
  urgency: string;
  topic: string | undefined;
  /** The VAPID claims that verified. */
  claims: { aud: string; exp: number; sub: string };
  /** The VAPID public key (k=). */
  k: string;
  plaintext: string;
  at: number;
}

export interface PushService extends FakeProvider {
  readonly url: string;
  /** Decrypted messages, in order (also summarised in `accepted`). */
  readonly received: ReceivedPush[];
  /** A new subscription, as PushManager.subscribe({applicationServerKey}) would make. */
  subscribe(applicationServerKey?: string): TestSubscription;
  /** Register a subscription made elsewhere (keys known to the test). */
  add(sub: TestSubscription): void;
  /** Expire a subscription: the next push to it gets 410 Gone. */
  expire(endpoint: string): void;
  /** Resolves with the next accepted push. */
  next(timeoutMs?: number): Promise<ReceivedPush>;
  close(): Promise<void>;
}

const b64u = (b: Buffer): string => b.toString('base64url');
const MAX_BODY = 4096;
const DAY_S = 24 * 3600;

/** RFC 8291 §3.4 + RFC 8188 §2: one aes128gcm body → plaintext, with the receiver's keys. */
export function decryptAes128gcm(body: Buffer, uaPrivate: Buffer, authSecret: Buffer): Buffer {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  if (idlen !== 65 || asPublic[0] !== 4) throw new Error(`keyid is not an uncompressed P-256 point (idlen ${idlen})`);
  if (rs < 18) throw new Error(`record size ${rs} too small`);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(uaPrivate);
  const uaPublic = ecdh.getPublicKey();
  const ecdhSecret = ecdh.computeSecret(asPublic);
  // RFC 8291 §3.4: IKM = HKDF(salt = auth_secret, ikm = ecdh_secret, info = "WebPush: info" 0x00 ua_public as_public, L = 32).
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0', 'latin1'), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, authSecret, keyInfo, 32));
  // RFC 8188 §2.2/2.3: CEK and NONCE from HKDF(salt, IKM).
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0', 'latin1'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0', 'latin1'), 12));
  const records: Buffer[] = [];
  const ct = body.subarray(21 + idlen);
  if (ct.length === 0) throw new Error('no ciphertext');
  for (let off = 0, seq = 0; off < ct.length; off += rs, seq++) {
    const rec = ct.subarray(off, Math.min(off + rs, ct.length));
    if (rec.length < 17) throw new Error('record shorter than its tag');
    const iv = Buffer.from(nonce);
    // The record sequence number XORed into the last 6 bytes of the nonce (RFC 8188 §2.3).
    const seqBytes = Buffer.alloc(6);
    seqBytes.writeUIntBE(seq, 0, 6);
    for (let i = 0; i < 6; i++) iv[6 + i]! ^= seqBytes[i]!;
    const d = createDecipheriv('aes-128-gcm', cek, iv);
    d.setAuthTag(rec.subarray(rec.length - 16));
    const plain = Buffer.concat([d.update(rec.subarray(0, rec.length - 16)), d.final()]);
    const last = off + rs >= ct.length;
    // Padding: the delimiter (0x02 in the last record, 0x01 before it), then zeros.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0 || plain[end] !== (last ? 2 : 1)) throw new Error(`record ${seq}: bad padding delimiter`);
    records.push(plain.subarray(0, end));
  }
  return Buffer.concat(records);
}

/** `vapid t=<jwt>, k=<key>` (RFC 8292 §3) → its two parameters. */
function vapidParams(header: string | undefined): { t: string; k: string } | undefined {
  const m = /^vapid\s+(.*)$/i.exec(header ?? '');
  if (!m) return undefined;
  const params = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const kv = /^\s*([a-z]+)\s*=\s*"?([A-Za-z0-9_.=-]+)"?\s*$/i.exec(part);
    if (kv) params.set(kv[1]!.toLowerCase(), kv[2]!);
  }
  const t = params.get('t');
  const k = params.get('k');
  return t && k ? { t, k } : undefined;
}

export async function startPushService(opts: { now?: () => number } = {}): Promise<PushService> {
  const now = opts.now ?? Date.now;
  const subs = new Map<string, TestSubscription & { expired?: boolean }>();
  const accepted: AcceptedRequest[] = [];
  const refused: string[] = [];
  const received: ReceivedPush[] = [];
  const failures: FailureMode[] = [];
  const waiters: ((p: ReceivedPush) => void)[] = [];
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const answer = (res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify({ code: status, errno: status, error: reason, message: reason }));
  };
  const refuse = (res: ServerResponse, status: number, reason: string) => {
    refused.push(`${status} ${reason}`);
    answer(res, status, reason);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const id = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'POST' || !id) return answer(res, 404, 'no such push resource');
    const endpoint = `${base}/push/${id}`;
    const sub = subs.get(endpoint);
    if (!sub) return answer(res, 404, 'subscription not found');
    if (sub.expired) return answer(res, 410, 'subscription expired');

    const mode = failures.shift();
    if (mode === 'timeout') return void held.add(res);
    if (mode === 'server-error') return answer(res, 503, 'service unavailable', { 'Retry-After': '1' });
    if (mode === 'rate-limited') return answer(res, 429, 'too many requests', { 'Retry-After': '2' });

    // RFC 8292: who sends, signed.
    const vapid = vapidParams(req.headers.authorization);
    if (!vapid) return refuse(res, 401, 'missing vapid authorization');
    const k = Buffer.from(vapid.k, 'base64url');
    if (k.length !== 65 || k[0] !== 4) return refuse(res, 401, 'k is not an uncompressed P-256 public key');
    if (sub.applicationServerKey && sub.applicationServerKey !== b64u(k)) return refuse(res, 403, 'key does not match the subscription');
    let claims: { aud: string; exp: number; sub: string };
    try {
      const key = await importJWK({ kty: 'EC', crv: 'P-256', x: b64u(k.subarray(1, 33)), y: b64u(k.subarray(33)) }, 'ES256');
      const { payload, protectedHeader } = await jwtVerify(vapid.t, key, { algorithms: ['ES256'], audience: new URL(endpoint).origin, currentDate: new Date(now()) });
      if (protectedHeader.typ !== undefined && protectedHeader.typ.toUpperCase() !== 'JWT') throw new Error(`typ ${protectedHeader.typ}`);
      if (typeof payload.exp !== 'number') throw new Error('no exp');
      if (payload.exp > now() / 1000 + DAY_S) throw new Error('exp more than 24 hours ahead');
      if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub)) throw new Error('sub is not a mailto: or https: contact');
      claims = { aud: String(payload.aud), exp: payload.exp, sub: payload.sub };
    } catch (err) {
      return refuse(res, 401, `invalid vapid token: ${(err as Error).message}`);
    }

    // RFC 8030 §5.2: TTL is required; Urgency and Topic optional but well-formed.
    const ttlHeader = req.headers.ttl;
    if (typeof ttlHeader !== 'string' || !/^\d+$/.test(ttlHeader)) return refuse(res, 400, 'missing or invalid TTL header');
    const urgency = (req.headers.urgency as string | undefined) ?? 'normal';
    if (!['very-low', 'low', 'normal', 'high'].includes(urgency)) return refuse(res, 400, 'invalid Urgency');
    const topic = req.headers.topic as string | undefined;
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) return refuse(res, 400, 'invalid Topic');
    if (body.length > MAX_BODY) return refuse(res, 413, 'payload too large');
    if (req.headers['content-encoding'] !== 'aes128gcm') return refuse(res, 400, `content-encoding ${req.headers['content-encoding']} is not aes128gcm`);

    let plaintext: string;
    try {
      plaintext = decryptAes128gcm(body, sub.privateKey, Buffer.from(sub.keys.auth, 'base64url')).toString('utf8');
    } catch (err) {
      return refuse(res, 400, `the body does not decrypt: ${(err as Error).message}`);
    }
    const got: ReceivedPush = { endpoint, ttl: Number(ttlHeader), urgency, topic, claims, k: vapid.k, plaintext, at: now() };
    received.push(got);
    let text = plaintext;
    try {
      const p = JSON.parse(plaintext) as { title?: string; body?: string };
      text = `${p.title ?? ''}\n${p.body ?? ''}`;
    } catch {
      /* not JSON: the text as it is */
    }
    accepted.push({ to: endpoint, text });
    for (const w of waiters.splice(0)) w(got);
    res.writeHead(201, { Location: `${base}/message/${randomUUID()}` });
    res.end();
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => answer(res, 500, String(err))));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const service: PushService = {
    url: base,
    accepted,
    refused,
    received,
    failNext(mode, n = 1) {
      for (let i = 0; i < n; i++) failures.push(mode);
    },
    subscribe(applicationServerKey) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const sub: TestSubscription = {
        endpoint: `${base}/push/${randomBytes(12).toString('base64url')}`,
        keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(randomBytes(16)) },
        privateKey: ecdh.getPrivateKey(),
        ...(applicationServerKey ? { applicationServerKey } : {}),
      };
      subs.set(sub.endpoint, sub);
      return sub;
    },
    add(sub) {
      subs.set(sub.endpoint, sub);
    },
    expire(endpoint) {
      const s = subs.get(endpoint);
      if (s) s.expired = true;
    },
    next(timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no push arrived at the local push service')), timeoutMs);
        waiters.push((p) => {
          clearTimeout(t);
          resolve(p);
        });
      });
    },
    async close() {
      for (const r of held) r.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return service;
}
