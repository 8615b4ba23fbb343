import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { authHeader } from './api.js';
import { formatAge, formatTime } from './format.js';
import { lang, t, toggleLang, tOr } from './i18n/index.js';
import { connection, downSince, resyncing } from './live.js';
import { navigate } from './router.js';
import { endSession, session } from './session.js';
import type { Alert, EstateRef, SnapshotRef } from './types.js';

export function LangButton() {
  return (
    <button type="button" class="btn ghost" onClick={toggleLang} aria-label={t('lang.label')} lang={lang.value === 'en' ? 'zh-CN' : 'en'} data-testid="lang">
      {t('lang.other')}
    </button>
  );
}

export function logout(): void {
  void endSession();
  clearSnapshots();
  navigate('/login');
}

/**
 * The top bar of every view: title, connection pill, who is logged in, language, log out. `compact`
 * (the phone) keeps it on one line at 360 px: short labels, no name.
 */
export function TopBar(props: { title: string; children?: ComponentChildren; compact?: boolean }) {
  const user = session.value?.user;
  const c = connection.value;
  return (
    <header class={`topbar${props.compact ? ' compact' : ''}`}>
      <h1>{props.title}</h1>
      {props.children}
      <span class="spacer" />
      <span class={`pill conn-${c}`} data-testid="conn">
        {c === 'connected' ? t('conn.live') : c === 'disconnected' ? t('conn.offline') : props.compact ? t('conn.short.connecting') : t('conn.connecting')}
      </span>
      {user && !props.compact && (
        <span class="who">
          {user.displayName ?? user.name} · {t(`role.${user.role}`)}
        </span>
      )}
      <LangButton />
      {user && (
        <button type="button" class="btn ghost" onClick={logout} data-testid="logout">
          {props.compact ? t('nav.logoutShort') : t('nav.logout')}
        </button>
      )}
    </header>
  );
}

/** Never stale silently: while the live link is down, say so, and since when the data is. */
export function ConnectionBanner() {
  const since = downSince.value;
  if (connection.value === 'disconnected' && since !== null) {
    return (
      <div class="banner" role="alert" data-testid="offline-banner">
        {t('conn.down', { time: formatTime(since) })}
      </div>
    );
  }
  if (resyncing.value > 0 && connection.value === 'connected') return <div class="banner-sync" aria-live="polite">{t('conn.resync')}</div>;
  return null;
}

/**
 * The estate picker of the desk pages and the phone: the user's estates by name. `all` adds a first
 * option for every estate (value ''), chosen as null.
 */
export function EstateSelect(props: { estates: readonly EstateRef[]; value: string | null; onChange: (estate: string | null) => void; all?: string; testId?: string; name?: string }) {
  return (
    <label class="field">
      {t('me.estate')}
      <select name={props.name ?? 'estate'} value={props.value ?? ''} onChange={(e) => props.onChange(e.currentTarget.value || null)} data-testid={props.testId}>
        {props.all !== undefined && <option value="">{props.all}</option>}
        {props.estates.map((e) => (
          <option key={e.id} value={e.id}>
            {e.name ?? e.id}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ErrorNote(props: { what: string; error: string | null; onRetry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="error" role="alert">
      <span>{t('error.load', { what: props.what, detail: props.error })}</span>
      {props.onRetry && (
        <button type="button" class="btn small" onClick={props.onRetry}>
          {t('retry')}
        </button>
      )}
    </div>
  );
}

export function SeverityBadge(props: { severity: number }) {
  return <span class={`sev sev-${props.severity}`}>{tOr('sev', String(props.severity))}</span>;
}

// Object URLs of fetched snapshots by sha256 (content-addressed, so never stale); dropped at logout.
const blobs = new Map<string, Promise<string>>();

export function clearSnapshots(): void {
  for (const p of blobs.values()) void p.then((u) => URL.revokeObjectURL(u), () => {});
  blobs.clear();
}

/** An object URL of the snapshot, fetched once with the Bearer token. */
export function snapshotBlob(ref: SnapshotRef): Promise<string> {
  let p = blobs.get(ref.sha256);
  if (!p) {
    // <img src> cannot send the Bearer header: fetch it and show an object URL.
    p = fetch(ref.url ?? `/api/v1/snapshots/${ref.sha256}`, { headers: authHeader() }).then(async (res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return URL.createObjectURL(await res.blob());
    });
    p.catch(() => blobs.delete(ref.sha256));
    blobs.set(ref.sha256, p);
  }
  return p;
}

export function Snapshot(props: { snap: SnapshotRef | undefined; class?: string; hideEmpty?: boolean }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const sha = props.snap?.sha256;
  useEffect(() => {
    if (!props.snap) return;
    let live = true;
    setFailed(false);
    snapshotBlob(props.snap).then(
      (u) => live && setSrc(u),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [sha]);
  const cls = `snapshot ${props.class ?? ''}`;
  if (!props.snap) return props.hideEmpty ? null : <div class={`${cls} empty`}>{t('alert.noSnapshot')}</div>;
  if (failed) return <div class={`${cls} empty`}>{t('alert.snapshotFailed')}</div>;
  if (!src) return <div class={`${cls} empty`}>{t('loading')}</div>;
  return <img class={cls} src={src} alt={t('alert.snapshot')} data-sha={sha} />;
}

/** Who did what to an alert, in words, once: "我 已确认", not "已确认 · 我 已确认". */
export function AlertStatus(props: { alert: Alert; names: (actor?: string, name?: string) => string }) {
  const a = props.alert;
  const text =
    a.state === 'resolved' && a.resolvedBy
      ? t('alert.resolvedBy', { who: props.names(a.resolvedBy, a.resolvedByName) })
      : a.state !== 'resolved' && a.acknowledgedBy
        ? t('alert.ackBy', { who: props.names(a.acknowledgedBy, a.acknowledgedByName) })
        : a.state === 'open' || a.state === 'escalated'
          ? `${tOr('state', a.state)} · ${t('alert.notAcked')}`
          : tOr('state', a.state);
  return (
    <span class={`state state-${a.state}`} data-testid="alert-state">
      {text}
    </span>
  );
}

export function Age(props: { at: number; now: number }) {
  return (
    <time dateTime={new Date(props.at).toISOString()} title={formatTime(props.at)}>
      {formatAge(props.at, props.now)}
    </time>
  );
}
