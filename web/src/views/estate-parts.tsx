import { formatDuration } from '../format.js';
import { t, tOr, type MessageKey } from '../i18n/index.js';
import type { Tile } from '../estate-model.js';
import type { ScreenAlert } from '../screen-alerts.js';
import type { EstateStateView, Today } from '../types.js';
import { clearedLabel } from './screen-alert-row.js';

export function GatewayLine(props: { state: EstateStateView }) {
  if (props.state.gateways.length === 0) return null;
  return (
    <p class="gateways">
      {props.state.gateways.map((g) => (
        <span key={g.gateway} class={`pill ${g.online ? 'ok' : 'bad'}`}>
          {t('estate.gateway', { id: g.gateway })} · {g.online ? t('dev.online') : t('dev.offline')}
        </span>
      ))}
    </p>
  );
}

/** `door:2` → "2 号门", `lane:1` → "1 车道": which part of a device an alert is about. */
function partOf(a: ScreenAlert): string {
  const m = /^(door|lane):(\d+)$/.exec(a.key ?? '');
  if (!m) return '';
  return m[1] === 'door' ? t('door.n', { n: Number(m[2]) }) : t('lane.n', { n: Number(m[2]) });
}

/** One button per alarm; past three, one per rule (a controller with 12 forced doors is one line). */
function alarmGroups(alarms: ScreenAlert[]): ScreenAlert[][] {
  if (alarms.length <= 3) return alarms.map((a) => [a]);
  const by = new Map<string, ScreenAlert[]>();
  for (const a of alarms) by.set(a.rule, [...(by.get(a.rule) ?? []), a]);
  return [...by.values()];
}

/** "2号门、3号门、4号门…" — a few, then an ellipsis; the count is said beside it. */
const list = (parts: string[]): string => parts.slice(0, 3).join(t('screen.listSep')) + (parts.length > 3 ? '…' : '');

/** A line per door; past four doors, one line per state ("被强行打开：2、3、4…号门"). */
function doorLines(tile: Tile): Array<{ key: string; state: string; text: string }> {
  if (tile.doors.length <= 4) return tile.doors.map((d) => ({ key: String(d.door), state: d.state, text: `${t('door.n', { n: d.door })}: ${tOr('door', d.state)}` }));
  const by = new Map<string, number[]>();
  for (const d of tile.doors) by.set(d.state, [...(by.get(d.state) ?? []), d.door]);
  return [...by.entries()].map(([state, doors]) => ({
    key: state,
    state,
    text: t('screen.doorsIn', { state: tOr('door', state), doors: doors.slice(0, 4).join(t('screen.listSep')) + (doors.length > 4 ? '…' : ''), n: doors.length }),
  }));
}

/**
 * A device on the command center: its live state, and above it the open alarms of the device (a door
 * that was forced shows 门被强行打开 in red even after it closed, until a person resolves it).
 */
export function DeviceTile(props: { tile: Tile; occupancy: number; alarms: ScreenAlert[]; onAlarm: (a: ScreenAlert) => void }) {
  const { tile, alarms } = props;
  const level = alarms.some((a) => a.severity >= 2) ? 'alarm' : tile.level;
  return (
    <article class={`tile lvl-${level}`} data-device={tile.id} data-alarms={alarms.length}>
      <header>
        <span class="kind">{t(`kind.${tile.kind}` as MessageKey)}</span>
        {tile.condition === 'auth-failed' ? (
          <span class="dot bad" data-condition="auth-failed" title={t('dev.authFailed.hint')}>
            {t('dev.authFailed')}
          </span>
        ) : (
          <span class={`dot ${tile.online === false ? 'bad' : tile.online ? 'ok' : 'unknown'}`}>
            {tile.online === false ? t('dev.offline') : tile.online ? t('dev.online') : t('dev.unknown')}
          </span>
        )}
      </header>
      <h3>{tile.name ?? tile.id}</h3>
      {(tile.name || tile.model) && <p class="muted id">{[tile.name ? tile.id : '', tile.model ?? ''].filter(Boolean).join(' · ')}</p>}
      {alarmGroups(alarms).map((g) => {
        const a = g[0]!;
        const cleared = g.length === 1 ? clearedLabel(a) : null;
        const parts = g.map(partOf).filter(Boolean);
        return (
          <button key={a.id} type="button" class={`tile-alarm sev-text-${a.severity}`} data-alarm={a.rule} data-alert-id={a.id} data-count={g.length} onClick={() => props.onAlarm(a)}>
            {tOr('rule', a.rule)}
            {g.length > 1 ? ` × ${g.length}` : ''}
            {parts.length > 0 && ` · ${list(parts)}`}
            {cleared && <span class="cleared"> · {cleared}</span>}
          </button>
        );
      })}
      {tile.warnings.map((w) => (
        <p key={w} class="cond warn" data-warning={w}>
          {tOr('dev.warning', w)}
        </p>
      ))}
      {doorLines(tile).map((l) => (
        <p key={l.key} class={`cond door-${l.state}`}>
          {l.text}
        </p>
      ))}
      {tile.barriers.map((b) => (
        <p key={b.lane} class={`cond barrier-${b.state}`}>
          {t('lane.n', { n: b.lane })}: {tOr('barrier', b.state)}
        </p>
      ))}
      {tile.kind === 'barrier' && <p class="cond">{t('barrier.occupancy', { n: props.occupancy })}</p>}
      {tile.camera && (
        <p class={`cond ${tile.camera.tamper || tile.camera.signalLoss ? 'alarm' : ''}`}>
          {tile.camera.signalLoss ? t('camera.signalLoss') : tile.camera.tamper ? t('camera.tamper') : tile.camera.motion ? t('camera.motion') : t('camera.ok')}
        </p>
      )}
    </article>
  );
}

export function TodayCounts(props: { today: Today }) {
  const d = props.today;
  const items: Array<[MessageKey, string | number]> = [
    ['today.entries', d.entries],
    ['today.vehiclesIn', d.vehiclesIn],
    ['today.vehiclesOut', d.vehiclesOut],
    ['today.occupancy', d.occupancy ?? t('none')],
    ['today.alertsOpened', d.alertsOpened],
    ['today.alertsResolved', d.alertsResolved],
    ['today.medianAck', formatDuration(d.medianAckS)],
  ];
  return (
    <dl class="counts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{t(k)}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
