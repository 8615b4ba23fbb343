import { useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { lang, t } from '../i18n/index.js';
import { departmentList, importCsv, whistle, type ImportAnswer, type WorkOrderView } from '../orders.js';

/** The departments in the viewer's language, for the selects. */
export const departments = (): Array<{ id: string; name: string }> => departmentList().map((d) => ({ id: d.id, name: lang.value === 'en' ? d.name.en : d.name.zh }));

/**
 * 吹哨 (whistle and report, issue 19 item 4): the street or community calls a department onto an open
 * order (`POST /work-orders/:id/whistles`); it must check in (报到) before the hub's check-in time. Center
 * and admin only; says which department was whistled, or the hub's error.
 */
export function WhistleControl(props: { order: WorkOrderView; onDone: () => void }) {
  const [dept, setDept] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const list = departments();
  const send = () => {
    if (!dept) return;
    setBusy(true);
    setError(null);
    setDone(null);
    whistle(props.order.id, dept)
      .then(() => {
        setDone(list.find((d) => d.id === dept)?.name ?? dept);
        setDept('');
        props.onDone();
      }, setError)
      .finally(() => setBusy(false));
  };
  return (
    <form
      class="o-whistle"
      data-testid="order-whistle"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <select aria-label={t('orders.whistleTo')} value={dept} disabled={busy} onChange={(e) => setDept(e.currentTarget.value)}>
        <option value="">{t('orders.whistlePick')}</option>
        {list.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
          </option>
        ))}
      </select>
      <button type="submit" class="btn" disabled={busy || !dept}>
        📣 {t('orders.whistle')}
      </button>
      {done && (
        <p class="notice ok" role="status" data-testid="whistle-done">
          {t('orders.whistled', { name: done })}
        </p>
      )}
      {error !== null && (
        <p class="error" role="alert" data-testid="whistle-error">
          {t('orders.failed', { detail: describeError(error) })}
        </p>
      )}
    </form>
  );
}

/**
 * 12345 orders from the city's CSV file (`POST /work-orders/import.csv`): how many were created, how
 * many were already here (the same city number again), and each bad row with its line and error; the
 * good rows are imported either way.
 */
export function ImportForm(props: { onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<ImportAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const send = () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    setAnswer(null);
    importCsv(file)
      .then(setAnswer, setError)
      .finally(() => setBusy(false));
  };
  const bad = answer?.items.filter((i) => i.result === 'error') ?? [];
  return (
    <form
      class="o-intake"
      data-testid="order-import"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <h2>{t('orders.importTitle')}</h2>
      <p class="muted">{t('orders.importHint')}</p>
      <label>
        {t('orders.importFile')}
        <input type="file" name="csv" accept=".csv,text/csv" onChange={(e) => (setFile(e.currentTarget.files?.[0] ?? null), setAnswer(null))} />
      </label>
      <div class="actions">
        <button type="submit" class="btn primary" disabled={busy || !file} data-testid="import-submit">
          {t('orders.importSend')}
        </button>
        <button type="button" class="btn" disabled={busy} onClick={props.onClose}>
          {t('orders.cancel')}
        </button>
      </div>
      {error !== null && (
        <p class="error" role="alert" data-testid="import-error">
          {t('orders.failed', { detail: describeError(error) })}
        </p>
      )}
      {answer && (
        <div role="status" data-testid="import-answer">
          <p class={answer.failed ? 'notice' : 'notice ok'}>{t('orders.importDone', { created: answer.created, existing: answer.existing, failed: answer.failed })}</p>
          {bad.length > 0 && (
            <ol class="o-import-errors" data-testid="import-errors">
              {bad.map((i) => (
                <li key={i.index} data-line={i.line}>
                  {t('orders.importLine', { line: i.line ?? i.index + 1 })} {i.result === 'error' ? i.error.message : ''}
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </form>
  );
}
