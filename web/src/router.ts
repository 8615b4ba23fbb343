import { signal } from '@preact/signals';

/**
 * Path routing: `/login`, `/me`, `/street`, `/estate/:id`, `/roster`, `/patrol`, `/admin`. The hub answers each
 * with the app (hub/api/app.ts CLIENT_ROUTES); any other path gets the app with a 404 and `notFound`.
 */
export type Route =
  | { name: 'login' }
  | { name: 'me'; tab?: 'history' | 'handover' | 'patrol' | 'orders' | 'cameras'; alert?: string; code?: string; order?: string; camera?: string; estate?: string }
  | { name: 'street' }
  | { name: 'estate'; estate: string; order?: string }
  | { name: 'roster' }
  | { name: 'patrol' }
  | { name: 'admin' }
  | { name: 'home' }
  | { name: 'notFound'; path: string };

/** The phone's own pages ride on the query (`/me?tab=history`, `/me?alert=<id>`, `/me?order=<id>`): one client route. */
function meRoute(query: string): Route {
  const q = new URLSearchParams(query);
  const tab = q.get('tab');
  const alert = q.get('alert');
  // A patrol checkpoint's QR code opens /p/CODE, which the hub sends here (`?tab=patrol&code=CODE`).
  const code = q.get('code');
  const order = q.get('order');
  const camera = q.get('camera');
  const estate = q.get('estate');
  return {
    name: 'me',
    ...(tab === 'history' || tab === 'handover' || tab === 'patrol' || tab === 'orders' || tab === 'cameras' ? { tab } : {}),
    ...(alert && /^[0-9A-Za-z]{1,64}$/.test(alert) ? { alert } : {}),
    ...(tab === 'patrol' && code && /^[0-9A-Za-z]{12}$/.test(code) ? { code } : {}),
    ...(order && /^[0-9A-Za-z]{1,64}$/.test(order) ? { order } : {}),
    // A live camera (issue 20): `/me?camera=<device>&estate=<estate>`.
    ...(camera && estate && /^[a-z0-9-]{1,64}$/.test(camera) && /^[a-z0-9-]{1,64}$/.test(estate) ? { camera, estate } : {}),
  };
}

export function parseRoute(url: string): Route {
  const [path = '', query = ''] = url.split('?');
  const estate = /^\/estate\/([a-z0-9-]{1,64})\/?$/.exec(path);
  if (estate) {
    const order = new URLSearchParams(query).get('order');
    return { name: 'estate', estate: estate[1]!, ...(order && /^[0-9A-Za-z]{1,64}$/.test(order) ? { order } : {}) };
  }
  if (path === '/me' || path === '/me/') return meRoute(query);
  if (path === '/street' || path === '/street/') return { name: 'street' };
  if (path === '/login') return { name: 'login' };
  if (path === '/roster' || path === '/roster/') return { name: 'roster' };
  if (path === '/admin' || path === '/admin/') return { name: 'admin' };
  if (path === '/patrol' || path === '/patrol/') return { name: 'patrol' };
  if (path === '/' || path === '') return { name: 'home' };
  return { name: 'notFound', path };
}

export const route = signal<Route>(parseRoute(location.pathname + location.search));

export function navigate(path: string, replace = false): void {
  if (path !== location.pathname + location.search) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  route.value = parseRoute(path);
}

addEventListener('popstate', () => {
  route.value = parseRoute(location.pathname + location.search);
});
