import { useEffect } from 'preact/hooks';
import { ConnectionBanner } from './components.js';
import { lang, t } from './i18n/index.js';
import { startLive, stopLive } from './live.js';
import { navigate, route } from './router.js';
import { homeFor, scheduleRefresh, session } from './session.js';
import { EstateView } from './views/estate.js';
import { LoginView } from './views/login.js';
import { AdminView } from './views/admin.js';
import { NotFoundPage } from './views/pages.js';
import { PatrolDeskView } from './views/patrol-desk.js';
import { PhoneView } from './views/phone.js';
import { RosterView } from './views/roster.js';
import { StreetView } from './views/street.js';

/** The whole app: login until there is a session; then the route's view, with the live link. */
export function App() {
  const s = session.value;
  const r = route.value;
  useEffect(() => {
    document.title = t('app.title');
  }, [lang.value]);
  useEffect(() => {
    if (!s) return;
    scheduleRefresh();
    startLive();
    return () => stopLive();
  }, [s?.user.id]);
  useEffect(() => {
    if (s && (r.name === 'home' || r.name === 'login')) navigate(homeFor(s.user.role), true);
  }, [s, r.name]);

  if (r.name === 'notFound') return <NotFoundPage path={r.path} />;
  if (!s) {
    const next = r.name === 'estate' || r.name === 'me' || r.name === 'street' || r.name === 'roster' || r.name === 'patrol' || r.name === 'admin' ? location.pathname + location.search : null;
    return <LoginView next={next} />;
  }
  return (
    <>
      <ConnectionBanner />
      {r.name === 'estate' ? <EstateView key={r.estate} estate={r.estate} /> : r.name === 'street' ? <StreetView /> : r.name === 'me' ? <PhoneView /> : null}
      {r.name === 'roster' && <RosterView />}
      {r.name === 'admin' && <AdminView />}
      {r.name === 'patrol' && <PatrolDeskView />}
    </>
  );
}
