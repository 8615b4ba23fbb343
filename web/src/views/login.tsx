import { useState } from 'preact/hooks';
import { api, ApiError, describeError } from '../api.js';
import { LangButton } from '../components.js';
import { t } from '../i18n/index.js';
import { navigate } from '../router.js';
import { homeFor, logoutReason, setSession } from '../session.js';
import type { LoginResponse } from '../types.js';

/** Name + password → POST /api/v1/auth/login; the role decides where the user lands. */
export function LoginView(props: { next: string | null }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await api<LoginResponse>('/api/v1/auth/login', { method: 'POST', body: { name, password }, anonymous: true });
      const s = setSession(res);
      logoutReason.value = null;
      navigate(props.next ?? homeFor(s.user.role), true);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setError(t('login.bad'));
      else if (err instanceof ApiError && err.status === 429) setError(t('login.rate'));
      else if (err instanceof ApiError && err.status === 404) setError(t('login.unavailable', { path: err.path }));
      else setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <div class="login-lang">
        <LangButton />
      </div>
      <form class="login-card" onSubmit={submit}>
        <h1>
          {t('app.title')}
          <small>{t('app.tagline')}</small>
        </h1>
        <h2>{t('login.title')}</h2>
        {logoutReason.value && !error && (
          <p class="error" role="alert">
            {t(logoutReason.value)}
          </p>
        )}
        <label>
          {t('login.name')}
          <input name="name" autoComplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
        </label>
        <label>
          {t('login.password')}
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary big" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </main>
  );
}
