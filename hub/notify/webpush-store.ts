import type WebPush from 'web-push';
import { z } from 'zod';
import { RbError } from '../errors.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Address, Lang } from './channel.js';
import type { ContactRoute } from './types.js';
import { lazyRequire } from '../../lib/lazy.js';

const webpush = lazyRequire<typeof WebPush>('web-push');

/**
 * Web Push state in the hub database: the VAPID key pair (a row of hub_keys) and the phone view's
 * push subscriptions (migration 0011_webpush).
 */

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url (65 bytes): what browsers take as `applicationServerKey`. */
  publicKey: string;
  /** The private scalar, base64url (32 bytes). Never logged, never in a REST answer. */
  privateKey: string;
}

/** The row of hub_keys (migration 0008_hub_keys) that holds the pair, as JSON `{publicKey, privateKey}`. */
const KEY_ROW = 'webpush.vapid';

/**
 * The VAPID key pair: the configured one when the config names both halves, else the one kept in the
 * hub database (hub_keys), made on first use. Made with INSERT … ON CONFLICT DO NOTHING and read back,
 * so two nodes starting together agree on one pair and every restart keeps it (a new pair would orphan
 * every subscription: browsers bind a subscription to the key it was made with).
 */
export async function vapidKeys(db: HubDatabase, configured?: Partial<VapidKeys>): Promise<VapidKeys> {
  if (configured?.publicKey && configured.privateKey) return { publicKey: configured.publicKey, privateKey: configured.privateKey };
  const read = async () => {
    const row = await db.db.selectFrom('hub_keys').select(['value']).where('name', '=', KEY_ROW).executeTakeFirst();
    return row ? (JSON.parse(row.value) as VapidKeys) : undefined;
  };
  let keys = await read();
  if (!keys) {
    const made = webpush().generateVAPIDKeys();
    await db.db
      .insertInto('hub_keys')
      .values({ name: KEY_ROW, value: JSON.stringify({ publicKey: made.publicKey, privateKey: made.privateKey }), created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    keys = await read();
  }
  if (!keys?.publicKey || !keys.privateKey) throw new Error('webpush: the VAPID key pair could not be stored');
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}

const b64url = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`)
    .refine((s) => Buffer.from(s, 'base64url').length === bytes, `${what} must be ${bytes} bytes`);

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** A PushSubscription as `toJSON()` gives it (expirationTime ignored). */
export const SubscriptionBody = z
  .object({
    endpoint: z
      .string()
      .max(1024)
      .url()
      .refine((u) => {
        const url = new URL(u);
        // Push services are HTTPS; plain HTTP only to this machine (a local push service in tests).
        return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
      }, 'endpoint must be an https URL of a push service'),
    expirationTime: z.number().nullable().optional(),
    keys: z.object({
      p256dh: b64url(65, 'keys.p256dh').refine((s) => Buffer.from(s, 'base64url')[0] === 4, 'keys.p256dh must be an uncompressed P-256 point'),
      auth: b64url(16, 'keys.auth'),
    }),
  })
  .strip();
export type SubscriptionInput = z.output<typeof SubscriptionBody>;

export interface PushSubscriptionView {
  endpoint: string;
  userAgent: string | null;
  createdAt: number;
  lastSuccessAt: number | null;
}

export interface StoredSubscription extends PushSubscriptionView {
  userId: string;
  keys: { p256dh: string; auth: string };
}

export interface PushSubscriptions {
  /** Read every subscription (once at start; then kept current by this repository's own writes). */
  load(): Promise<void>;
  /** Keep `sub` for `userId` (a browser subscribing again with the same endpoint replaces its row, whoever owned it). */
  add(userId: string, sub: SubscriptionInput, userAgent?: string): Promise<PushSubscriptionView>;
  /** Forget one of the user's subscriptions; false when the user has none with that endpoint. */
  remove(userId: string, endpoint: string): Promise<boolean>;
  /** The push service answered 404/410 (RB_ERR_NOTIFY_GONE): the subscription is dead, drop it. */
  gone(endpoint: string): Promise<void>;
  /** A push to it was accepted (201). */
  succeeded(endpoint: string, at?: number): Promise<void>;
  list(userId: string): PushSubscriptionView[];
  /** The contact book's routes of kind push for one person: one per subscription, newest first. */
  routesFor(userId: string, channelId: string, lang: Lang): ContactRoute[];
  /**
   * The same as a RouteSource of the contact book (hub/notify/contacts.ts `addSource`): the person's
   * subscriptions through the configured webpush channel (`channelId()`; none configured: no routes).
   */
  source(channelId: () => string | undefined): (userId: string) => { channelId: string; address: Address }[];
}

/** Subscriptions a person may keep (phone, tablet, a second browser …): the oldest goes past this. */
export const MAX_PER_USER = 10;

export function createPushSubscriptions(deps: { db: HubDatabase; now?: () => number }): PushSubscriptions {
  const { db } = deps;
  const now = deps.now ?? Date.now;
  /** userId → endpoint → subscription. */
  const byUser = new Map<string, Map<string, StoredSubscription>>();
  const owner = new Map<string, string>();

  const put = (s: StoredSubscription) => {
    const prev = owner.get(s.endpoint);
    if (prev !== undefined) byUser.get(prev)?.delete(s.endpoint);
    let m = byUser.get(s.userId);
    if (!m) byUser.set(s.userId, (m = new Map()));
    m.set(s.endpoint, s);
    owner.set(s.endpoint, s.userId);
  };
  const drop = (endpoint: string) => {
    const user = owner.get(endpoint);
    if (user === undefined) return;
    byUser.get(user)?.delete(endpoint);
    owner.delete(endpoint);
  };
  const view = (s: StoredSubscription): PushSubscriptionView => ({ endpoint: s.endpoint, userAgent: s.userAgent, createdAt: s.createdAt, lastSuccessAt: s.lastSuccessAt });
  const newestFirst = (userId: string) => [...(byUser.get(userId)?.values() ?? [])].sort((a, b) => b.createdAt - a.createdAt || (a.endpoint < b.endpoint ? -1 : 1));

  return {
    async load() {
      byUser.clear();
      owner.clear();
      const rows = await db.db.selectFrom('push_subscriptions').selectAll().execute();
      for (const r of rows) put({ endpoint: r.endpoint, userId: r.user_id, keys: { p256dh: r.p256dh, auth: r.auth }, userAgent: r.user_agent, createdAt: r.created_at, lastSuccessAt: r.last_success_at });
    },
    async add(userId, sub, userAgent) {
      const s: StoredSubscription = { endpoint: sub.endpoint, userId, keys: { p256dh: sub.keys.p256dh, auth: sub.keys.auth }, userAgent: userAgent?.slice(0, 256) ?? null, createdAt: now(), lastSuccessAt: null };
      await db.transaction(async (trx) => {
        await trx
          .insertInto('push_subscriptions')
          .values({ endpoint: s.endpoint, user_id: userId, p256dh: s.keys.p256dh, auth: s.keys.auth, user_agent: s.userAgent, created_at: s.createdAt, last_success_at: null })
          .onConflict((oc) => oc.column('endpoint').doUpdateSet({ user_id: userId, p256dh: s.keys.p256dh, auth: s.keys.auth, user_agent: s.userAgent, created_at: s.createdAt, last_success_at: null }))
          .execute();
        const mine = await trx.selectFrom('push_subscriptions').select(['endpoint']).where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('endpoint').execute();
        const extra = mine.slice(MAX_PER_USER).map((r) => r.endpoint);
        if (extra.length) await trx.deleteFrom('push_subscriptions').where('endpoint', 'in', extra).execute();
        for (const e of extra) drop(e);
      });
      put(s);
      return view(s);
    },
    async remove(userId, endpoint) {
      if (owner.get(endpoint) !== userId) {
        const r = await db.db.deleteFrom('push_subscriptions').where('user_id', '=', userId).where('endpoint', '=', endpoint).executeTakeFirst();
        return Number(r.numDeletedRows) > 0;
      }
      await db.db.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint).execute();
      drop(endpoint);
      return true;
    },
    async gone(endpoint) {
      await db.db.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint).execute();
      drop(endpoint);
    },
    async succeeded(endpoint, at = now()) {
      await db.db.updateTable('push_subscriptions').set({ last_success_at: at }).where('endpoint', '=', endpoint).execute();
      const user = owner.get(endpoint);
      const s = user === undefined ? undefined : byUser.get(user)?.get(endpoint);
      if (s) s.lastSuccessAt = at;
    },
    list: (userId) => newestFirst(userId).map(view),
    source: (channelId) => (userId) => {
      const id = channelId();
      return id === undefined ? [] : newestFirst(userId).map((s) => ({ channelId: id, address: { kind: 'push', subscription: { endpoint: s.endpoint, keys: { ...s.keys } } } }));
    },
    routesFor: (userId, channelId, lang) =>
      newestFirst(userId).map((s) => ({ channelId, lang, fallback: false, address: { kind: 'push', subscription: { endpoint: s.endpoint, keys: { ...s.keys } } } })),
  };
}

/** RB_ERR_BAD_BODY naming the field, for the REST route. */
export function parseSubscription(body: unknown): SubscriptionInput {
  const parsed = SubscriptionBody.safeParse(body);
  if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}
