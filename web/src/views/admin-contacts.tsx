import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import { ErrorNote, EstateSelect } from '../components.js';
import { t } from '../i18n/index.js';
import { useLoad } from '../load.js';
import type { AdminUser, EstateRef } from '../types.js';
import { done, failed, NoteLine, type Note } from './note.js';

/**
 * Contact points of a person and group robots of an estate (hub/api/contacts.ts; docs/notifications.md):
 * how an alert reaches people whose page is closed, with 发送测试 ("send a test") on each.
 */
interface Channel {
  id: string;
  type: string;
  accepts: string[];
}
interface ContactPoint {
  id: string;
  channelId: string;
  channelType: string | null;
  kind: 'phone' | 'wecom-user';
  address: string;
  minSeverity: number;
  fallback: boolean;
}
interface Policy {
  quietHours: { from: string; to: string } | null;
  lang: 'zh-CN' | 'en';
}
interface Robot {
  id: string;
  scope: string;
  channelId: string;
  channelType: string | null;
  minSeverity: number;
}

const SEVERITIES = [1, 2, 3, 4];
const channelLabel = (c: { id: string; type?: string | null }) => (c.type ? `${c.id} (${c.type})` : c.id);

function useChannels() {
  const channels = useLoad<Channel[]>('/api/v1/notify/channels', (r) => (r as { items: Channel[] }).items);
  useEffect(() => void channels.reload(), []);
  return channels;
}

export function ContactPoints(props: { users: AdminUser[] }) {
  const [userId, setUserId] = useState(props.users[0]?.id ?? '');
  const [points, setPoints] = useState<ContactPoint[] | null>(null);
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<Note | null>(null);
  const channels = useChannels();
  const load = () =>
    userId
      ? api<{ items: ContactPoint[]; policy: Policy }>(`/api/v1/users/${userId}/contacts`).then(
          (r) => (setPoints(r.items), setPolicy(r.policy), setError(null)),
          (err) => setError(err),
        )
      : Promise.resolve();
  useEffect(() => {
    setPoints(null);
    setNote(null);
    void load();
  }, [userId]);
  const act = async (fn: () => Promise<unknown>, ok: Parameters<typeof done>[0], params?: Record<string, string>) => {
    setNote(null);
    try {
      await fn();
      setNote(done(ok, params));
      await load();
    } catch (err) {
      setNote(failed(err));
    }
  };
  const personal = (channels.data ?? []).filter((c) => c.accepts.includes('phone') || c.accepts.includes('wecom-user'));
  return (
    <div class="contacts" data-testid="contacts">
      <label class="field">
        {t('contacts.person')}
        <select name="contacts-user" value={userId} onChange={(e) => setUserId(e.currentTarget.value)}>
          {props.users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName ? `${u.displayName} (${u.name})` : u.name}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote what={t('contacts.title')} error={error === null ? null : describeError(error)} onRetry={() => void load()} />
      <NoteLine note={note} testid="contacts-note" />
      {points && (
        <table class="users contact-points">
          <thead>
            <tr>
              <th>{t('contacts.channel')}</th>
              <th>{t('contacts.address')}</th>
              <th>{t('contacts.minSeverity')}</th>
              <th>{t('contacts.fallback')}</th>
              <th>{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {points.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  {t('contacts.none')}
                </td>
              </tr>
            )}
            {points.map((p) => (
              <tr key={p.id} data-contact={p.id}>
                <td>{channelLabel({ id: p.channelId, type: p.channelType })}</td>
                <td>
                  {p.address} <span class="muted small">{t(p.kind === 'phone' ? 'contacts.kind.phone' : 'contacts.kind.wecom')}</span>
                </td>
                <td>≥ {p.minSeverity}</td>
                <td>{p.fallback ? t('contacts.yes') : ''}</td>
                <td class="row-actions">
                  <button type="button" class="btn" onClick={() => void act(() => api(`/api/v1/users/${userId}/contacts/${p.id}/test`, { method: 'POST' }), 'contacts.testQueued', { to: p.address })}>
                    {t('contacts.test')}
                  </button>
                  <button type="button" class="btn" onClick={() => void act(() => api(`/api/v1/users/${userId}/contacts/${p.id}`, { method: 'DELETE' }), 'contacts.removed')}>
                    {t('contacts.remove')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {points && <AddPoint channels={personal} onAdd={(body) => act(() => api(`/api/v1/users/${userId}/contacts`, { method: 'POST', body }), 'contacts.added')} />}
      {policy && <PolicyForm key={userId} policy={policy} onSave={(body) => act(() => api(`/api/v1/users/${userId}/contact-policy`, { method: 'PUT', body }), 'contacts.policySaved')} />}
    </div>
  );
}

function AddPoint(props: { channels: Channel[]; onAdd: (body: unknown) => Promise<void> }) {
  const [channelId, setChannelId] = useState('');
  const [address, setAddress] = useState('');
  const [minSeverity, setMinSeverity] = useState(1);
  const [fallback, setFallback] = useState(false);
  const channel = props.channels.find((c) => c.id === channelId) ?? props.channels[0];
  const kind = channel?.accepts.includes('phone') ? 'phone' : 'wecom-user';
  return (
    <form
      class="desk-form wide"
      data-testid="add-contact"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!channel) return;
        await props.onAdd({ kind, channelId: channel.id, address, minSeverity, fallback });
        setAddress('');
      }}
    >
      <h3>{t('contacts.add')}</h3>
      {props.channels.length === 0 && <p class="muted">{t('contacts.noChannels')}</p>}
      <label class="field">
        {t('contacts.channel')}
        <select name="contact-channel" value={channel?.id ?? ''} onChange={(e) => setChannelId(e.currentTarget.value)}>
          {props.channels.map((c) => (
            <option key={c.id} value={c.id}>
              {channelLabel(c)}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        {t(kind === 'phone' ? 'contacts.kind.phone' : 'contacts.kind.wecom')}
        <input name="contact-address" required autoComplete="off" inputMode={kind === 'phone' ? 'tel' : 'text'} placeholder={kind === 'phone' ? '138 0000 0000' : 'zhangsan'} value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('contacts.minSeverity')}
        <select name="contact-severity" value={String(minSeverity)} onChange={(e) => setMinSeverity(Number(e.currentTarget.value))}>
          {SEVERITIES.map((s) => (
            <option key={s} value={String(s)}>
              ≥ {s}
            </option>
          ))}
        </select>
      </label>
      <label class="field check">
        <input type="checkbox" name="contact-fallback" checked={fallback} onChange={(e) => setFallback(e.currentTarget.checked)} />
        {t('contacts.fallbackHint')}
      </label>
      <button type="submit" class="btn primary" disabled={!channel}>
        {t('contacts.addButton')}
      </button>
    </form>
  );
}

function PolicyForm(props: { policy: Policy; onSave: (body: unknown) => Promise<void> }) {
  const [quiet, setQuiet] = useState(props.policy.quietHours !== null);
  const [from, setFrom] = useState(props.policy.quietHours?.from ?? '22:00');
  const [to, setTo] = useState(props.policy.quietHours?.to ?? '07:00');
  const [lang, setLang] = useState(props.policy.lang);
  return (
    <form
      class="desk-form wide"
      data-testid="contact-policy"
      onSubmit={(e) => {
        e.preventDefault();
        void props.onSave({ quietHours: quiet ? { from, to } : null, lang });
      }}
    >
      <h3>{t('contacts.policy')}</h3>
      <label class="field check">
        <input type="checkbox" name="quiet" checked={quiet} onChange={(e) => setQuiet(e.currentTarget.checked)} />
        {t('contacts.quiet')}
      </label>
      <label class="field">
        {t('contacts.quietFrom')}
        <input type="time" name="quiet-from" value={from} disabled={!quiet} onInput={(e) => setFrom(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('contacts.quietTo')}
        <input type="time" name="quiet-to" value={to} disabled={!quiet} onInput={(e) => setTo(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('contacts.lang')}
        <select name="contact-lang" value={lang} onChange={(e) => setLang(e.currentTarget.value as Policy['lang'])}>
          <option value="zh-CN">中文</option>
          <option value="en">English</option>
        </select>
      </label>
      <p class="muted small">{t('contacts.quietNote')}</p>
      <button type="submit" class="btn primary">
        {t('admin.save')}
      </button>
    </form>
  );
}

export function GroupRobots(props: { estates: EstateRef[] }) {
  const [estate, setEstate] = useState(props.estates[0]?.id ?? '');
  const [robots, setRobots] = useState<Robot[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<Note | null>(null);
  const [channelId, setChannelId] = useState('');
  const [onGrid, setOnGrid] = useState(false);
  const [minSeverity, setMinSeverity] = useState(1);
  const channels = useChannels();
  const group = (channels.data ?? []).filter((c) => c.accepts.includes('group'));
  const ref = props.estates.find((e) => e.id === estate);
  const load = () =>
    estate
      ? api<{ items: Robot[] }>(`/api/v1/notify/robots?estate=${encodeURIComponent(estate)}`).then(
          (r) => (setRobots(r.items), setError(null)),
          (err) => setError(err),
        )
      : Promise.resolve();
  useEffect(() => {
    setRobots(null);
    setNote(null);
    void load();
  }, [estate]);
  const act = async (fn: () => Promise<unknown>, ok: Parameters<typeof done>[0]) => {
    setNote(null);
    try {
      await fn();
      setNote(done(ok));
      await load();
    } catch (err) {
      setNote(failed(err));
    }
  };
  const scopeLabel = (scope: string) => (scope.startsWith('grid:') ? `${t('admin.scope.grid')} · ${scope.slice(5)}` : `${t('admin.scope.estate')} · ${ref?.name ?? scope.slice(7)}`);
  return (
    <div class="robots" data-testid="robots">
      <EstateSelect estates={props.estates} value={estate} onChange={(v) => v && setEstate(v)} name="robots-estate" />
      <ErrorNote what={t('contacts.robots')} error={error === null ? null : describeError(error)} onRetry={() => void load()} />
      <NoteLine note={note} testid="robots-note" />
      {robots && (
        <table class="users">
          <thead>
            <tr>
              <th>{t('contacts.channel')}</th>
              <th>{t('admin.scope')}</th>
              <th>{t('contacts.minSeverity')}</th>
              <th>{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {robots.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  {t('contacts.noRobots')}
                </td>
              </tr>
            )}
            {robots.map((r) => (
              <tr key={r.id} data-robot={r.id}>
                <td>{channelLabel({ id: r.channelId, type: r.channelType })}</td>
                <td>{scopeLabel(r.scope)}</td>
                <td>≥ {r.minSeverity}</td>
                <td class="row-actions">
                  <button type="button" class="btn" onClick={() => void act(() => api(`/api/v1/notify/robots/${r.id}/test`, { method: 'POST' }), 'contacts.robotTestQueued')}>
                    {t('contacts.test')}
                  </button>
                  <button type="button" class="btn" onClick={() => void act(() => api(`/api/v1/notify/robots/${r.id}`, { method: 'DELETE' }), 'contacts.removed')}>
                    {t('contacts.remove')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="desk-form wide"
        data-testid="add-robot"
        onSubmit={(e) => {
          e.preventDefault();
          const ch = channelId || group[0]?.id;
          if (!ch) return;
          const scope = onGrid && ref?.grid ? `grid:${ref.grid}` : `estate:${estate}`;
          void act(() => api('/api/v1/notify/robots', { method: 'POST', body: { scope, channelId: ch, minSeverity } }), 'contacts.robotAdded');
        }}
      >
        <h3>{t('contacts.addRobot')}</h3>
        {group.length === 0 && <p class="muted">{t('contacts.noChannels')}</p>}
        <label class="field">
          {t('contacts.channel')}
          <select name="robot-channel" value={channelId || group[0]?.id || ''} onChange={(e) => setChannelId(e.currentTarget.value)}>
            {group.map((c) => (
              <option key={c.id} value={c.id}>
                {channelLabel(c)}
              </option>
            ))}
          </select>
        </label>
        {ref?.grid && (
          <label class="field check">
            <input type="checkbox" name="robot-grid" checked={onGrid} onChange={(e) => setOnGrid(e.currentTarget.checked)} />
            {t('contacts.wholeGrid', { grid: ref.grid })}
          </label>
        )}
        <label class="field">
          {t('contacts.minSeverity')}
          <select name="robot-severity" value={String(minSeverity)} onChange={(e) => setMinSeverity(Number(e.currentTarget.value))}>
            {SEVERITIES.map((s) => (
              <option key={s} value={String(s)}>
                ≥ {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="btn primary" disabled={group.length === 0}>
          {t('contacts.addButton')}
        </button>
      </form>
    </div>
  );
}
