import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, TopBar } from '../components.js';
import { formatDateTime } from '../format.js';
import { t, tOr } from '../i18n/index.js';
import { useLoad } from '../load.js';
import { session } from '../session.js';
import type { AdminUser, EstateRef, Role } from '../types.js';
import { AlertSettingsForm } from './admin-settings.js';
import { ContactPoints, GroupRobots } from './admin-contacts.js';
import { ScreenNav } from './nav.js';
import { done, failed, NoteLine, type Note } from './note.js';
import { RoleOnlyPage } from './pages.js';


/** The roles of protocol/api.ts, in order (a value, so restated; the record makes a missing or extra role a type error). */
const ROLE_ORDER: Record<Role, number> = { volunteer: 0, patrol: 1, center: 2, admin: 3 };
const ROLES = (Object.keys(ROLE_ORDER) as Role[]).sort((a, b) => ROLE_ORDER[a] - ROLE_ORDER[b]);

/** `/admin` (admin): users (add with role and scope, disable, set a password), their contact points, estates' group robots and alert settings. */
export function AdminView() {
  if (session.value?.user.role !== 'admin') return <RoleOnlyPage title={t('admin.title')} />;
  return <Admin />;
}

function Admin() {
  const me = useLoad<{ estates?: EstateRef[] }>('/api/v1/me');
  const users = useLoad<AdminUser[]>('/api/v1/users', (r) => (r as { items: AdminUser[] }).items);
  useEffect(() => void Promise.all([me.reload(), users.reload()]), []);
  const estates = me.data?.estates ?? [];
  return (
    <div class="desk">
      <TopBar title={t('admin.title')}>
        <ScreenNav />
      </TopBar>
      <main class="desk-main admin">
        <section class="desk-section" aria-labelledby="h-users">
          <h2 id="h-users">{t('admin.users')}</h2>
          <ErrorNote what={t('admin.users')} error={users.error} onRetry={() => void users.reload()} />
          {users.data && <UserTable users={users.data} onChanged={() => void users.reload()} />}
          <AddUser estates={estates} onAdded={() => void users.reload()} />
        </section>
        <section class="desk-section" aria-labelledby="h-contacts">
          <h2 id="h-contacts">{t('contacts.title')}</h2>
          {users.data && users.data.length > 0 && <ContactPoints users={users.data.filter((u) => !u.disabled)} />}
        </section>
        <section class="desk-section" aria-labelledby="h-robots">
          <h2 id="h-robots">{t('contacts.robots')}</h2>
          {estates.length > 0 && <GroupRobots estates={estates} />}
        </section>
        <section class="desk-section" aria-labelledby="h-settings">
          <h2 id="h-settings">{t('admin.settings')}</h2>
          <ErrorNote what={t('me.estate')} error={me.error} onRetry={() => void me.reload()} />
          {estates.length > 0 && <AlertSettingsForm estates={estates} />}
        </section>
      </main>
    </div>
  );
}

function UserTable(props: { users: AdminUser[]; onChanged: () => void }) {
  const [open, setOpen] = useState<{ id: string; what: 'password' | 'disable' } | null>(null);
  const [password, setPassword] = useState('');
  const [note, setNote] = useState<Note | null>(null);
  const run = async (id: string, what: 'password' | 'disable') => {
    setNote(null);
    try {
      await api(`/api/v1/users/${id}/${what}`, { method: 'POST', ...(what === 'password' ? { body: { password } } : {}) });
      setNote(done(what === 'password' ? 'admin.passwordSet' : 'admin.disabledDone'));
      setOpen(null);
      setPassword('');
      props.onChanged();
    } catch (err) {
      setNote(failed(err));
    }
  };
  return (
    <>
      <NoteLine note={note} testid="user-note" />
      <table class="users">
        <thead>
          <tr>
            <th>{t('admin.name')}</th>
            <th>{t('admin.role')}</th>
            <th>{t('admin.scopes')}</th>
            <th>{t('admin.state')}</th>
            <th>{t('admin.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {props.users.map((u) => (
            <tr key={u.id} data-user={u.name} class={u.disabled ? 'disabled' : ''}>
              <td>
                <b>{u.displayName ?? u.name}</b>
                {u.displayName && <span class="muted"> ({u.name})</span>}
                <div class="muted small">{formatDateTime(u.createdAt)}</div>
              </td>
              <td>{tOr('role', u.role)}</td>
              <td class="scopes">{u.scopes.join(' ')}</td>
              <td>{u.disabled ? t('admin.disabled') : t('admin.enabled')}</td>
              <td class="row-actions">
                {open?.id === u.id && open.what === 'password' ? (
                  <form
                    class="inline"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void run(u.id, 'password');
                    }}
                  >
                    <input type="password" name="new-password" autoComplete="new-password" minLength={8} required placeholder={t('admin.newPassword')} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
                    <button type="submit" class="btn primary">
                      {t('admin.save')}
                    </button>
                    <button type="button" class="btn" onClick={() => setOpen(null)}>
                      {t('alert.cancel')}
                    </button>
                  </form>
                ) : open?.id === u.id && open.what === 'disable' ? (
                  <>
                    <button type="button" class="btn danger" onClick={() => void run(u.id, 'disable')}>
                      {t('admin.confirmDisable', { name: u.name })}
                    </button>
                    <button type="button" class="btn" onClick={() => setOpen(null)}>
                      {t('alert.cancel')}
                    </button>
                  </>
                ) : (
                  <>
                    <button type="button" class="btn" onClick={() => (setPassword(''), setOpen({ id: u.id, what: 'password' }))}>
                      {t('admin.setPassword')}
                    </button>
                    {!u.disabled && (
                      <button type="button" class="btn" onClick={() => setOpen({ id: u.id, what: 'disable' })}>
                        {t('admin.disable')}
                      </button>
                    )}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Scopes an admin can pick from: its estates, their grids and streets (the hub refuses what it cannot grant). */
function scopeChoices(estates: EstateRef[]): string[] {
  const out = new Set<string>();
  for (const e of estates) if (e.street) out.add(`street:${e.street}`);
  for (const e of estates) if (e.grid) out.add(`grid:${e.grid}`);
  for (const e of estates) out.add(`estate:${e.id}`);
  return [...out];
}

function AddUser(props: { estates: EstateRef[]; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('volunteer');
  const [scope, setScope] = useState('');
  const [password, setPassword] = useState('');
  const [note, setNote] = useState<Note | null>(null);
  const choices = scopeChoices(props.estates);
  const label = (s: string) => {
    const [kind, id] = s.split(':') as [string, string];
    const e = kind === 'estate' ? props.estates.find((x) => x.id === id) : undefined;
    return `${t(`admin.scope.${kind}` as 'admin.scope.estate')} · ${e?.name ?? id}`;
  };
  return (
    <form
      class="desk-form wide"
      data-testid="add-user"
      onSubmit={async (e) => {
        e.preventDefault();
        setNote(null);
        const scopes = scope.split(/[\s,，]+/).filter(Boolean);
        try {
          await api('/api/v1/users', { method: 'POST', body: { name, ...(displayName ? { displayName } : {}), role, scopes, ...(password ? { password } : {}) } });
          setNote(done('admin.added', { name }));
          setName('');
          setDisplayName('');
          setPassword('');
          props.onAdded();
        } catch (err) {
          setNote(failed(err));
        }
      }}
    >
      <h3>{t('admin.addUser')}</h3>
      <label class="field">
        {t('admin.name')}
        <input name="name" required autoComplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('admin.displayName')}
        <input name="displayName" autoComplete="off" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('admin.role')}
        <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {tOr('role', r)}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        {t('admin.scope')}
        <select name="scope" value={scope} required onChange={(e) => setScope(e.currentTarget.value)}>
          <option value="">{t('admin.pickScope')}</option>
          {choices.map((s) => (
            <option key={s} value={s}>
              {label(s)}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        {t('admin.password')}
        <input type="password" name="initial-password" autoComplete="new-password" minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <button type="submit" class="btn primary">
        {t('admin.add')}
      </button>
      <NoteLine note={note} testid="add-user-note" />
    </form>
  );
}
