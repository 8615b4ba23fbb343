import { LangButton, TopBar } from '../components.js';
import { t } from '../i18n/index.js';
import { navigate } from '../router.js';
import { homeFor, session } from '../session.js';

/** Where "back to my start page" goes: the role's home, or the login. */
function homePath(): string {
  const s = session.value;
  return s ? homeFor(s.user.role) : '/login';
}

function HomeButton() {
  const href = homePath();
  return (
    <a
      class="btn primary"
      href={href}
      data-testid="go-home"
      onClick={(ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        navigate(href);
      }}
    >
      {session.value ? t('page.home') : t('page.login')}
    </a>
  );
}

/** The app's own answer to a path it does not know (the hub serves it with status 404). */
export function NotFoundPage(props: { path: string }) {
  return (
    <div class="page-msg-wrap">
      {session.value ? (
        <TopBar title={t('app.title')} />
      ) : (
        <div class="login-lang">
          <LangButton />
        </div>
      )}
      <main class="page-msg" data-testid="not-found">
        <p class="page-code" aria-hidden="true">
          404
        </p>
        <h1>{t('page.notFound')}</h1>
        <p class="muted">{t('page.notFound.hint', { path: props.path })}</p>
        <HomeButton />
      </main>
    </div>
  );
}

/**
 * One clear page instead of a screen full of refusals: the estate is not in the viewer's scope (or does
 * not exist: the hub does not tell the two apart, and neither do we).
 */
export function OutOfScopePage(props: { estate: string }) {
  return (
    <div class="page-msg-wrap">
      <TopBar title={t('app.title')} />
      <main class="page-msg" data-testid="out-of-scope">
        <p class="page-code" aria-hidden="true">
          403
        </p>
        <h1>{t('page.outOfScope')}</h1>
        <p class="muted">{t('page.outOfScope.hint', { estate: props.estate })}</p>
        <HomeButton />
      </main>
    </div>
  );
}

/** A desk screen (roster, administration) opened by a role it is not for. */
export function RoleOnlyPage(props: { title: string }) {
  return (
    <div class="page-msg-wrap">
      <TopBar title={props.title} />
      <main class="page-msg" data-testid="role-only">
        <p class="page-code" aria-hidden="true">
          403
        </p>
        <h1>{t('page.outOfScope')}</h1>
        <p class="muted">{t('page.roleOnly.hint')}</p>
        <HomeButton />
      </main>
    </div>
  );
}
