import { signal } from '@preact/signals';
import { api } from './api.js';
import { navigate } from './router.js';

/**
 * Web Push on the phone (docs/notifications.md, "Web Push"): the service worker (/sw.js, built from
 * web/src/sw.ts) is registered on every page load; "开启通知" asks for permission, subscribes with
 * the hub's VAPID key and gives the subscription to the hub, which then pushes alerts to this phone
 * even with the page closed.
 */

export type PushState = 'unsupported' | 'denied' | 'off' | 'on';
export const pushState = signal<PushState>('off');

export const pushSupported = (): boolean => 'serviceWorker' in navigator && typeof PushManager !== 'undefined' && typeof Notification !== 'undefined';

let listening = false;

/** Register the service worker (scope `/`); a failure only means no push on this browser. */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | undefined> {
  if (!pushSupported()) return undefined;
  // 查看 on a notification while the app is open: the service worker says where to go.
  if (!listening) navigator.serviceWorker.addEventListener('message', (e: MessageEvent<{ type?: string; path?: string }>) => {
    if (e.data?.type === 'rb:open' && typeof e.data.path === 'string' && e.data.path.startsWith('/')) navigate(e.data.path);
  });
  listening = true;
  try {
    return await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  } catch {
    return undefined;
  }
}

function keyBytes(b64url: string): Uint8Array<ArrayBuffer> {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(b64url.length / 4) * 4, '=');
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const sameKey = (a: ArrayBuffer | null | undefined, b: Uint8Array): boolean => {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
};

/** What this browser's state is, given the hub's list of my subscriptions. */
export async function refreshPushState(): Promise<PushState> {
  if (!pushSupported()) return (pushState.value = 'unsupported');
  if (Notification.permission === 'denied') return (pushState.value = 'denied');
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = await reg?.pushManager.getSubscription();
  if (!sub || Notification.permission !== 'granted') return (pushState.value = 'off');
  const mine = await api<{ items: { endpoint: string }[] }>('/api/v1/me/push-subscriptions').catch(() => ({ items: [] }));
  return (pushState.value = mine.items.some((s) => s.endpoint === sub.endpoint) ? 'on' : 'off');
}

/** Call from the button's click (permission prompts need a user gesture). */
export async function enablePush(): Promise<PushState> {
  if (!pushSupported()) return (pushState.value = 'unsupported');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return (pushState.value = permission === 'denied' ? 'denied' : 'off');
  await registerServiceWorker();
  const reg = await navigator.serviceWorker.ready;
  const { publicKey } = await api<{ publicKey: string }>('/api/v1/notify/webpush/key');
  const key = keyBytes(publicKey);
  let sub = await reg.pushManager.getSubscription();
  // Made with another key (the hub's pair changed): the push service would refuse it (403).
  if (sub && !sameKey(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe().catch(() => false);
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await api('/api/v1/me/push-subscriptions', { method: 'POST', body: sub.toJSON() });
  return (pushState.value = 'on');
}

export async function disablePush(): Promise<PushState> {
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = await reg?.pushManager.getSubscription();
  if (sub) {
    await api('/api/v1/me/push-subscriptions', { method: 'DELETE', body: { endpoint: sub.endpoint } }).catch(() => undefined);
    await sub.unsubscribe().catch(() => false);
  }
  return (pushState.value = 'off');
}
