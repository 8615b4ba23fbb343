import { t, type MessageKey } from '../i18n/index.js';
import { navigate, route } from '../router.js';
import { session } from '../session.js';

const LINKS: Array<{ path: string; label: MessageKey; route: string; admin?: boolean }> = [
  { path: '/street', label: 'nav.street', route: 'street' },
  { path: '/roster', label: 'nav.roster', route: 'roster' },
  { path: '/patrol', label: 'nav.patrol', route: 'patrol' },
  { path: '/admin', label: 'nav.admin', route: 'admin', admin: true },
];

/** The desk's own screens, for center and admin (the street, the roster, patrol rounds, administration). */
export function ScreenNav() {
  const role = session.value?.user.role;
  if (role !== 'center' && role !== 'admin') return null;
  const here = route.value.name;
  return (
    <nav class="screen-nav" aria-label={t('nav.screens')}>
      {LINKS.filter((l) => !l.admin || role === 'admin').map((l) => (
        <a
          key={l.path}
          href={l.path}
          class={`btn ghost ${here === l.route ? 'current' : ''}`}
          aria-current={here === l.route ? 'page' : undefined}
          onClick={(ev) => {
            if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
            ev.preventDefault();
            navigate(l.path);
          }}
        >
          {t(l.label)}
        </a>
      ))}
    </nav>
  );
}
