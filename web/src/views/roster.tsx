import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, EstateSelect, TopBar } from '../components.js';
import { lang, t } from '../i18n/index.js';
import { useLoad } from '../load.js';
import { toPeople } from '../people.js';
import { session } from '../session.js';
import type { EstateRef, RosterException, RosterPerson, Shift } from '../types.js';
import { fromLocalInput, toLocalInput, weekStart, zonedParts, zonedToMs } from '../zoned.js';
import { ScreenNav } from './nav.js';
import { failed, NoteLine, type Note } from './note.js';
import { RoleOnlyPage } from './pages.js';

type Assignable = RosterPerson;

const DAY = 86_400_000;
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const;

/** `/roster` (center, admin): the week's shifts per estate, add and delete them, and exceptions. */
export function RosterView() {
  const role = session.value?.user.role;
  if (role !== 'center' && role !== 'admin') return <RoleOnlyPage title={t('roster.title')} />;
  return <Roster />;
}

function Roster() {
  const me = useLoad<{ estates?: EstateRef[] }>('/api/v1/me');
  useEffect(() => void me.reload(), []);
  const estates = me.data?.estates ?? [];
  const [picked, setPicked] = useState<string | null>(null);
  const estate = picked ?? estates[0]?.id ?? null;
  const q = estate ? `estate=${estate}` : null;
  const shifts = useLoad<{ timeZone: string; items: Shift[] }>(q && `/api/v1/roster/shifts?${q}`);
  const exceptions = useLoad<RosterException[]>(q && `/api/v1/roster/exceptions?${q}&after=${Date.now() - 7 * DAY}`, (r) => (r as { items: RosterException[] }).items);
  const people = useLoad<Assignable[]>(q && `/api/v1/roster/people?${q}`, (r) => (r as { items: Assignable[] }).items);
  const duty = useLoad(q && `/api/v1/roster/on-duty?${q}`, toPeople);
  const reload = () => Promise.all([shifts.reload(), exceptions.reload(), duty.reload()]);
  useEffect(() => {
    if (estate) void Promise.all([reload(), people.reload()]);
  }, [estate]);

  const tz = shifts.data?.timeZone ?? 'Asia/Shanghai';
  const [week, setWeek] = useState(0);
  const start = weekStart(Date.now(), tz, week);
  const volunteers = (people.data ?? []).filter((p) => p.role === 'volunteer');
  const nameOf = (id: string) => {
    const p = people.data?.find((x) => x.id === id);
    return p ? (p.displayName ?? p.name) : `#${id.slice(-6)}`;
  };
  const [note, setNote] = useState<Note | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setNote(null);
    try {
      await fn();
      await reload();
      return true;
    } catch (err) {
      setNote(failed(err));
      return false;
    }
  };

  return (
    <div class="desk">
      <TopBar title={t('roster.title')}>
        <ScreenNav />
      </TopBar>
      <main class="desk-main roster">
        <ErrorNote what={t('me.estate')} error={me.error} onRetry={() => void me.reload()} />
        <div class="toolbar">
          <EstateSelect estates={estates} value={estate} onChange={(v) => v && setPicked(v)} />
          <div class="week-nav">
            <button type="button" class="btn" onClick={() => setWeek(week - 1)}>
              {t('roster.prevWeek')}
            </button>
            <button type="button" class="btn" onClick={() => setWeek(0)} disabled={week === 0}>
              {t('roster.thisWeek')}
            </button>
            <button type="button" class="btn" onClick={() => setWeek(week + 1)}>
              {t('roster.nextWeek')}
            </button>
          </div>
          <p class="on-duty-now" data-testid="on-duty-now">
            <b>{t('estate.onDuty')}</b>: {duty.data ? (duty.data.length ? duty.data.map((p) => p.name).join('、') : t('estate.nobody')) : t('loading')}
          </p>
        </div>
        <p class="muted">{t('roster.tzNote', { tz })}</p>
        {[shifts, exceptions, people].map((l, i) => (
          <ErrorNote key={i} what={t('roster.title')} error={l.error} onRetry={() => void l.reload()} />
        ))}
        <NoteLine note={note} testid="roster-error" />
        <WeekGrid start={start} tz={tz} shifts={shifts.data?.items ?? []} exceptions={exceptions.data ?? []} nameOf={nameOf} onDelete={(path) => act(() => api(path, { method: 'DELETE' }))} />
        {estate && (
          <div class="roster-forms">
            <ShiftForm estate={estate} tz={tz} volunteers={volunteers} onAdd={(body) => act(() => api('/api/v1/roster/shifts', { method: 'POST', body }))} />
            <ExceptionForm estate={estate} tz={tz} volunteers={volunteers} onAdd={(body) => act(() => api('/api/v1/roster/exceptions', { method: 'POST', body }))} />
          </div>
        )}
      </main>
    </div>
  );
}

function WeekGrid(props: { start: number; tz: string; shifts: Shift[]; exceptions: RosterException[]; nameOf: (id: string) => string; onDelete: (path: string) => Promise<boolean> }) {
  const today = zonedParts(Date.now(), props.tz);
  const dayFmt = useMemo(() => new Intl.DateTimeFormat(lang.value, { timeZone: props.tz, month: 'numeric', day: 'numeric' }), [lang.value, props.tz]);
  const timeFmt = useMemo(() => new Intl.DateTimeFormat(lang.value, { timeZone: props.tz, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }), [lang.value, props.tz]);
  const [confirm, setConfirm] = useState<string | null>(null);
  const del = (path: string) => {
    if (confirm !== path) return setConfirm(path);
    setConfirm(null);
    void props.onDelete(path);
  };
  return (
    <div class="week" role="table" aria-label={t('roster.week')}>
      {WEEKDAYS.map((wd) => {
        // Day boundaries from the zone, not +24 h: a DST day is 23 or 25 hours long.
        const s0 = zonedParts(props.start, props.tz);
        const dayStart = zonedToMs(s0.year, s0.month, s0.day + wd - 1, 0, 0, props.tz);
        const dayEnd = zonedToMs(s0.year, s0.month, s0.day + wd, 0, 0, props.tz);
        const p = zonedParts(dayStart, props.tz);
        const isToday = p.year === today.year && p.month === today.month && p.day === today.day;
        const shifts = props.shifts.filter((s) => s.weekday === wd).sort((a, b) => a.start.localeCompare(b.start));
        const exc = props.exceptions.filter((e) => e.from < dayEnd && e.to > dayStart);
        return (
          <section key={wd} class={`day ${isToday ? 'today' : ''}`} data-weekday={wd} role="rowgroup">
            <h2>
              {t(`roster.wd.${wd}` as 'roster.wd.1')} <span class="muted">{dayFmt.format(dayStart + DAY / 2)}</span>
            </h2>
            <ul>
              {shifts.map((s) => (
                <li key={s.id} class="shift" data-shift-id={s.id}>
                  <span class="who">{props.nameOf(s.user)}</span>
                  <span class="when">
                    {s.start}–{s.end}
                  </span>
                  <button type="button" class={`btn small ${confirm === `/api/v1/roster/shifts/${s.id}` ? 'danger' : 'ghost'}`} onClick={() => del(`/api/v1/roster/shifts/${s.id}`)} aria-label={confirm === `/api/v1/roster/shifts/${s.id}` ? undefined : t('roster.deleteShift', { who: props.nameOf(s.user) })}>
                    {confirm === `/api/v1/roster/shifts/${s.id}` ? t('roster.confirmDelete') : '✕'}
                  </button>
                </li>
              ))}
              {exc.map((e) => (
                <li key={e.id} class={`exception kind-${e.kind}`} data-exception-id={e.id}>
                  <span class="who">{props.nameOf(e.user)}</span>
                  <span class="when">{t(e.kind === 'on' ? 'roster.kind.on' : 'roster.kind.off')}</span>
                  <span class="muted range">
                    {timeFmt.format(e.from)} – {timeFmt.format(e.to)}
                  </span>
                  <button type="button" class={`btn small ${confirm === `/api/v1/roster/exceptions/${e.id}` ? 'danger' : 'ghost'}`} onClick={() => del(`/api/v1/roster/exceptions/${e.id}`)} aria-label={confirm === `/api/v1/roster/exceptions/${e.id}` ? undefined : t('roster.deleteException', { who: props.nameOf(e.user) })}>
                    {confirm === `/api/v1/roster/exceptions/${e.id}` ? t('roster.confirmDelete') : '✕'}
                  </button>
                </li>
              ))}
              {shifts.length === 0 && exc.length === 0 && <li class="muted">{t('roster.empty')}</li>}
            </ul>
          </section>
        );
      })}
    </div>
  );
}

function PersonSelect(props: { volunteers: Assignable[]; value: string; onChange: (v: string) => void }) {
  return (
    <label class="field">
      {t('roster.person')}
      <select name="user" value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)} required>
        <option value="">{t('roster.pickPerson')}</option>
        {props.volunteers.map((p) => (
          <option key={p.id} value={p.id}>
            {p.displayName ? `${p.displayName} (${p.name})` : p.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function ShiftForm(props: { estate: string; tz: string; volunteers: Assignable[]; onAdd: (body: Omit<Shift, 'id'>) => Promise<boolean> }) {
  const [user, setUser] = useState('');
  const [weekday, setWeekday] = useState(zonedParts(Date.now(), props.tz).weekday);
  const [start, setStart] = useState('08:00');
  const [end, setEnd] = useState('20:00');
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="desk-form"
      data-testid="shift-form"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        void props.onAdd({ user, estate: props.estate, weekday, start, end }).finally(() => setBusy(false));
      }}
    >
      <h2>{t('roster.addShift')}</h2>
      <PersonSelect volunteers={props.volunteers} value={user} onChange={setUser} />
      <label class="field">
        {t('roster.weekday')}
        <select name="weekday" value={String(weekday)} onChange={(e) => setWeekday(Number(e.currentTarget.value))}>
          {WEEKDAYS.map((wd) => (
            <option key={wd} value={String(wd)}>
              {t(`roster.wd.${wd}` as 'roster.wd.1')}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        {t('roster.start')}
        <input type="time" name="start" value={start} required onInput={(e) => setStart(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('roster.end')}
        <input type="time" name="end" value={end} required onInput={(e) => setEnd(e.currentTarget.value)} />
      </label>
      <p class="muted">{t('roster.overnight')}</p>
      <button type="submit" class="btn primary" disabled={busy || !user}>
        {t('roster.add')}
      </button>
    </form>
  );
}

function ExceptionForm(props: { estate: string; tz: string; volunteers: Assignable[]; onAdd: (body: Omit<RosterException, 'id'>) => Promise<boolean> }) {
  const [user, setUser] = useState('');
  const [kind, setKind] = useState<'on' | 'off'>('off');
  const [from, setFrom] = useState(() => toLocalInput(Date.now(), props.tz));
  const [to, setTo] = useState(() => toLocalInput(Date.now() + DAY, props.tz));
  const [busy, setBusy] = useState(false);
  const [bad, setBad] = useState(false);
  return (
    <form
      class="desk-form"
      data-testid="exception-form"
      onSubmit={(e) => {
        e.preventDefault();
        const a = fromLocalInput(from, props.tz);
        const b = fromLocalInput(to, props.tz);
        if (a === null || b === null || b <= a) return setBad(true);
        setBad(false);
        setBusy(true);
        void props.onAdd({ user, estate: props.estate, kind, from: a, to: b }).finally(() => setBusy(false));
      }}
    >
      <h2>{t('roster.addException')}</h2>
      <PersonSelect volunteers={props.volunteers} value={user} onChange={setUser} />
      <label class="field">
        {t('roster.kind')}
        <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as 'on' | 'off')}>
          <option value="off">{t('roster.kind.off')}</option>
          <option value="on">{t('roster.kind.on')}</option>
        </select>
      </label>
      <label class="field">
        {t('roster.from')}
        <input type="datetime-local" name="from" value={from} required onInput={(e) => setFrom(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('roster.to')}
        <input type="datetime-local" name="to" value={to} required onInput={(e) => setTo(e.currentTarget.value)} />
      </label>
      {bad && (
        <p class="error" role="alert">
          {t('roster.badRange')}
        </p>
      )}
      <button type="submit" class="btn primary" disabled={busy || !user}>
        {t('roster.add')}
      </button>
    </form>
  );
}
