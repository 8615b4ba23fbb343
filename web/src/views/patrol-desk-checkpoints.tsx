import { useEffect, useState } from 'preact/hooks';
import { api, authHeader, describeError } from '../api.js';
import { t } from '../i18n/index.js';
import type { PatrolCheckpointView } from '../../../protocol/patrol.js';
import { done, failed, NoteLine, type Note } from './note.js';

/** A file the hub serves behind the user's token (a QR code, the sheet) as an object URL. */
async function fileBlob(path: string): Promise<{ url: string; type: string }> {
  const res = await fetch(path, { headers: authHeader() });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const blob = await res.blob();
  return { url: URL.createObjectURL(blob), type: blob.type };
}

/** The QR codes shown, by checkpoint and code (a new code is a new image). */
const qrUrls = new Map<string, Promise<string>>();
function qrUrl(c: PatrolCheckpointView): Promise<string> {
  const key = `${c.id}/${c.code ?? ''}`;
  let u = qrUrls.get(key);
  if (!u) {
    u = fileBlob(`/api/v1/patrol/checkpoints/${encodeURIComponent(c.id)}/qr.png`).then((f) => f.url);
    u.catch(() => qrUrls.delete(key));
    qrUrls.set(key, u);
  }
  return u;
}

/** The estate's checkpoints: each with its QR code and actions; the add form; the A4 sheet. */
export function Checkpoints(props: { estate: string; estateName: string; items: PatrolCheckpointView[]; onChanged: () => Promise<unknown> }) {
  const [note, setNote] = useState<Note | null>(null);
  const act = async (fn: () => Promise<unknown>, ok: Note) => {
    setNote(null);
    try {
      await fn();
      setNote(ok);
      await props.onChanged();
      return true;
    } catch (err) {
      setNote(failed(err));
      return false;
    }
  };
  return (
    <>
      <div class="toolbar">
        <PrintSheet estate={props.estate} estateName={props.estateName} disabled={props.items.length === 0} />
      </div>
      <NoteLine note={note} testid="cp-note" />
      {props.items.length === 0 ? (
        <p class="muted">{t('pd.noCheckpoints')}</p>
      ) : (
        <ul class="pd-cards" data-testid="cp-list">
          {props.items.map((c) => (
            <CheckpointCard key={c.id} c={c} act={act} />
          ))}
        </ul>
      )}
      <AddCheckpoint estate={props.estate} act={act} />
    </>
  );
}

type Act = (fn: () => Promise<unknown>, ok: Note) => Promise<boolean>;

function CheckpointCard(props: { c: PatrolCheckpointView; act: Act }) {
  const c = props.c;
  const path = `/api/v1/patrol/checkpoints/${encodeURIComponent(c.id)}`;
  const [open, setOpen] = useState<'edit' | 'code' | 'delete' | null>(null);
  const [name, setName] = useState(c.name);
  const [location, setLocation] = useState(c.location);
  const [qr, setQr] = useState<string | null>(null);
  const [qrError, setQrError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    qrUrl(c).then(
      (u) => live && (setQr(u), setQrError(null)),
      (err) => live && setQrError(describeError(err)),
    );
    return () => void (live = false);
  }, [c.id, c.code]);
  const close = () => setOpen(null);
  return (
    <li class="pd-card checkpoint" data-checkpoint={c.id} data-name={c.name}>
      <div class="pd-qr">
        {qr ? <img src={qr} alt={t('pd.qr', { name: c.name })} width={120} height={120} data-testid="cp-qr" /> : <span class={qrError ? 'error' : 'muted'}>{qrError ?? '…'}</span>}
        {qr && (
          <a class="btn small" href={qr} download={`${c.name}-${c.code ?? c.id}.png`}>
            {t('pd.downloadQr')}
          </a>
        )}
      </div>
      <div class="pd-body">
        {open === 'edit' ? (
          <form
            class="pd-inline"
            onSubmit={(e) => {
              e.preventDefault();
              void props.act(() => api(path, { method: 'PUT', body: { name, location } }), done('pd.saved', { name })).then((ok) => ok && close());
            }}
          >
            <label class="field">
              {t('pd.name')}
              <input name="name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </label>
            <label class="field">
              {t('pd.location')}
              <input name="location" maxLength={300} value={location} onInput={(e) => setLocation(e.currentTarget.value)} />
            </label>
            <div class="row-actions">
              <button type="submit" class="btn primary">
                {t('pd.save')}
              </button>
              <button type="button" class="btn" onClick={close}>
                {t('pd.cancel')}
              </button>
            </div>
          </form>
        ) : (
          <>
            <p class="pd-name">
              <b>{c.name}</b>
            </p>
            {c.location && <p class="muted">{c.location}</p>}
            <p class="pd-code" data-testid="cp-code">
              {t('pd.code')}: <code>{c.code}</code>
            </p>
          </>
        )}
        {open === 'code' && <p class="warn-text">{t('pd.newCodeWarn')}</p>}
        {open !== 'edit' && (
          <div class="row-actions">
            {open === 'code' ? (
              <>
                <button type="button" class="btn danger" onClick={() => void props.act(() => api(path, { method: 'PUT', body: { newCode: true } }), done('pd.newCodeDone', { name: c.name })).then(close)}>
                  {t('pd.confirmNewCode')}
                </button>
                <button type="button" class="btn" onClick={close}>
                  {t('pd.cancel')}
                </button>
              </>
            ) : open === 'delete' ? (
              <>
                <button type="button" class="btn danger" onClick={() => void props.act(() => api(path, { method: 'DELETE' }), done('pd.deleted', { name: c.name })).then(close)}>
                  {t('pd.confirmDelete')}
                </button>
                <button type="button" class="btn" onClick={close}>
                  {t('pd.cancel')}
                </button>
              </>
            ) : (
              <>
                <button type="button" class="btn" onClick={() => (setName(c.name), setLocation(c.location), setOpen('edit'))}>
                  {t('pd.edit')}
                </button>
                <button type="button" class="btn" onClick={() => setOpen('code')}>
                  {t('pd.newCode')}
                </button>
                <button type="button" class="btn" onClick={() => setOpen('delete')}>
                  {t('pd.delete')}
                </button>
              </>
            )}
          </div>
        )}
      </div>
    </li>
  );
}

function AddCheckpoint(props: { estate: string; act: Act }) {
  const [name, setName] = useState('');
  const [location, setLocation] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="desk-form"
      data-testid="cp-form"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        const added = name.trim();
        void props
          .act(() => api('/api/v1/patrol/checkpoints', { method: 'POST', body: { estate: props.estate, name, location } }), done('pd.added', { name: added }))
          .then((ok) => ok && (setName(''), setLocation('')))
          .finally(() => setBusy(false));
      }}
    >
      <h3>{t('pd.addCheckpoint')}</h3>
      <label class="field">
        {t('pd.name')}
        <input name="name" required maxLength={100} autoComplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label class="field">
        {t('pd.location')}
        <input name="location" maxLength={300} autoComplete="off" value={location} onInput={(e) => setLocation(e.currentTarget.value)} />
      </label>
      <button type="submit" class="btn primary" disabled={busy || name.trim() === ''}>
        {t('pd.add')}
      </button>
    </form>
  );
}

/** 打印巡更点: the hub's A4 sheet (PDF) of every checkpoint, fetched with the token and opened. */
function PrintSheet(props: { estate: string; estateName: string; disabled: boolean }) {
  const [busy, setBusy] = useState(false);
  const [pdf, setPdf] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => () => void (pdf && URL.revokeObjectURL(pdf)), [pdf]);
  const print = async () => {
    setBusy(true);
    setError(null);
    try {
      const f = await fileBlob(`/api/v1/patrol/sheet.pdf?estate=${encodeURIComponent(props.estate)}`);
      setPdf(f.url);
      window.open(f.url, '_blank', 'noopener');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="btn primary" data-testid="pd-print" disabled={busy || props.disabled} onClick={() => void print()}>
        {busy ? t('pd.printing') : t('pd.print')}
      </button>
      {pdf && (
        <a class="btn" href={pdf} target="_blank" rel="noopener" download={`巡更点-${props.estateName}.pdf`} data-testid="pd-pdf">
          {t('pd.openPdf')}
        </a>
      )}
      {error && (
        <p class="error" role="alert">
          {t('alert.failed', { detail: error })}
        </p>
      )}
    </>
  );
}
