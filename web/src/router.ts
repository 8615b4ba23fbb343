import { signal } from '@preact/signals';

/** Path routing: `/login`, `/me`, `/street`, `/estate/:id`. The hub answers each with the app. */
export type Route =
  | { name: 'login' }
  | { name: 'me' }
  | { name: 'street' }
  | { name: 'estate'; estate: string }
  | { name: 'home' };

export function parseRoute(path: string): Route {
  const estate = /^\/estate\/([a-z0-9-]{1,64})\/?$/.exec(path);
  if (estate) return { name: 'estate', estate: estate[1]! };
  if (path === '/me' || path === '/me/') return { name: 'me' };
  if (path === '/street' || path === '/street/') return { name: 'street' };
  if (path === '/login') return { name: 'login' };
  return { name: 'home' };
}

export const route = signal<Route>(parseRoute(location.pathname));

export function navigate(path: string, replace = false): void {
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  route.value = parseRoute(path);
}

addEventListener('popstate', () => {
  route.value = parseRoute(location.pathname);
});
