/**
 * The service worker of the phone view installed as a PWA (served as /sw.js, scope /; bundled by
 * scripts/build-web.mjs). It shows a pushed alert as a notification with two actions, 确认 and 查看:
 * 确认 POSTs to the payload's one-tap ack link and says whether that worked; 查看 (or a tap on the
 * notification) opens the alert in the phone view, in a window of the app that is already open when
 * there is one. The payload is what the hub's webpush channel sends (hub/notify/channels/webpush.ts).
 *
 * Typed with the few worker types it uses: the screens' tsconfig has the DOM library, not WebWorker.
 */

interface PushPayload {
  id: string;
  alertId: string;
  title: string;
  body: string;
  severity: number;
  ackUrl?: string;
  url: string;
}

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface PushEvent extends ExtendableEvent {
  data: { json(): unknown; text(): string } | null;
}
interface ShownNotification {
  data: unknown;
  tag: string;
  title: string;
  close(): void;
}
interface NotificationClickEvent extends ExtendableEvent {
  action: string;
  notification: ShownNotification;
}
interface WindowClient {
  url: string;
  focus(): Promise<WindowClient>;
  postMessage(message: unknown): void;
}
interface WorkerScope {
  registration: ServiceWorkerRegistration;
  location: Location;
  clients: {
    claim(): Promise<void>;
    matchAll(o: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'push', fn: (e: PushEvent) => void): void;
  addEventListener(type: 'notificationclick', fn: (e: NotificationClickEvent) => void): void;
}

const sw = self as unknown as WorkerScope;

/** The labels follow the language the hub rendered the message in. */
const zh = (p: Pick<PushPayload, 'title' | 'body'>): boolean => /[\u4e00-\u9fff]/.test(p.title + p.body);
const LABELS = {
  zh: { ack: '确认', open: '查看', acked: '已确认', ackFailed: '确认未成功，请在页面上确认' },
  en: { ack: 'Acknowledge', open: 'View', acked: 'Acknowledged', ackFailed: 'Not acknowledged; please acknowledge on the page' },
};

function parse(data: PushEvent['data']): PushPayload {
  try {
    const p = data?.json() as Partial<PushPayload> | undefined;
    if (p && typeof p.title === 'string') return { id: String(p.id ?? ''), alertId: String(p.alertId ?? ''), title: p.title, body: String(p.body ?? ''), severity: Number(p.severity ?? 0), url: typeof p.url === 'string' ? p.url : '/me', ...(typeof p.ackUrl === 'string' ? { ackUrl: p.ackUrl } : {}) };
  } catch {
    /* not JSON: shown as text below */
  }
  return { id: '', alertId: '', title: '红管家 Red Butler', body: data?.text() ?? '', severity: 0, url: '/me' };
}

function show(p: PushPayload): Promise<void> {
  const l = zh(p) ? LABELS.zh : LABELS.en;
  const severe = p.severity >= 3;
  // One notification per alert (tag): a later level, or a retry the push service delivered twice,
  // replaces it and buzzes again (renotify) instead of stacking.
  const options: NotificationOptions & { actions: { action: string; title: string }[]; renotify: boolean; vibrate: number[] } = {
    body: p.body,
    tag: p.alertId ? `alert:${p.alertId}` : `push:${p.id}`,
    data: p,
    icon: '/icon-192.png',
    badge: '/icon-192.png',
    lang: zh(p) ? 'zh-CN' : 'en',
    requireInteraction: severe,
    renotify: true,
    vibrate: severe ? [400, 150, 400, 150, 400] : [200],
    actions: [...(p.ackUrl ? [{ action: 'ack', title: l.ack }] : []), { action: 'open', title: l.open }],
  };
  return sw.registration.showNotification(p.title, options);
}

/** The alert in the phone view: an open window of the app is told to go there (no reload) and focused; else a new one. */
async function open(url: string): Promise<void> {
  const target = new URL(url, sw.location.origin);
  if (target.origin !== sw.location.origin) {
    await sw.clients.openWindow(target.href);
    return;
  }
  const wins = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const win = wins.find((w) => new URL(w.url).origin === sw.location.origin);
  if (!win) {
    await sw.clients.openWindow(target.href);
    return;
  }
  win.postMessage({ type: 'rb:open', path: target.pathname + target.search });
  await win.focus().catch(() => undefined); // only allowed from a real click on the notification
}

/** `waitUntil` keeps the worker alive for the work; it refuses events not made by the browser (a test's own dispatch), where the work runs all the same. */
function hold(e: ExtendableEvent, p: Promise<unknown>): void {
  try {
    e.waitUntil(p);
  } catch {
    /* an untrusted event */
  }
}

async function acknowledge(n: ShownNotification, p: PushPayload): Promise<void> {
  const l = zh(p) ? LABELS.zh : LABELS.en;
  let ok = false;
  try {
    // `via=push`: the audit names the notification's action as the channel (the token alone authorises).
    const url = new URL(p.ackUrl!);
    url.searchParams.set('via', 'push');
    const res = await fetch(url, { method: 'POST', headers: { accept: 'application/json' }, credentials: 'omit' });
    ok = res.ok;
  } catch {
    ok = false;
  }
  n.close();
  if (ok) {
    await sw.registration.showNotification(`✓ ${l.acked} · ${p.title}`, { tag: n.tag, body: p.body, data: p, icon: '/icon-192.png', silent: true });
    return;
  }
  // The link's own page acknowledges with one more tap (and says why it could not, e.g. expired).
  await sw.registration.showNotification(l.ackFailed, { tag: n.tag, body: p.title, data: p, icon: '/icon-192.png' });
  await open(p.ackUrl!);
}

sw.addEventListener('install', (e) => hold(e, sw.skipWaiting()));
sw.addEventListener('activate', (e) => hold(e, sw.clients.claim()));
sw.addEventListener('push', (e) => hold(e, show(parse(e.data))));
sw.addEventListener('notificationclick', (e) => {
  const p = e.notification.data as PushPayload | undefined;
  if (!p) return;
  if (e.action === 'ack' && p.ackUrl) hold(e, acknowledge(e.notification, p));
  else {
    e.notification.close();
    hold(e, open(p.url || '/me'));
  }
});
