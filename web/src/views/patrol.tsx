import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { ErrorNote } from '../components.js';
import { formatDateTime, formatTime } from '../format.js';
import { t } from '../i18n/index.js';
import { useLive } from '../live.js';
import { codeOf, currentRun, loadHistory, loadRuns, scanCode, startScanner, type PatrolHistoryItem, type PatrolRunView, type PatrolScanResult, type Scanner } from '../patrol.js';
import type { Alert } from '../types.js';

/** The runs are looked at again this often while the tab is open (states change with the clock). */
const REFRESH_MS = 30_000;

/**
 * The phone's 巡更 tab: today's runs of my estates with the next checkpoint, a scan button that opens
 * the camera (a typed code when it cannot), what the scan did, and my history. `code` is a code the
 * page was opened with (a sticker scanned by the phone's own camera app): it is scanned once.
 */
export function PatrolPanel(props: { estate: string | null; code?: string | undefined; onCodeUsed: () => void }) {
  const [runs, setRuns] = useState<PatrolRunView[] | null>(null);
  const [history, setHistory] = useState<PatrolHistoryItem[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [result, setResult] = useState<PatrolScanResult | null>(null);
  const [scanError, setScanError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [scanning, setScanning] = useState(false);
  const [typed, setTyped] = useState('');
  const video = useRef<HTMLVideoElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const scanner = useRef<Scanner | null>(null);

  async function reload(): Promise<void> {
    try {
      const [r, h] = await Promise.all([loadRuns(props.estate), loadHistory()]);
      setRuns(r.items);
      setHistory(h.items);
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
  }
  useEffect(() => {
    void reload();
    const every = setInterval(() => void reload(), REFRESH_MS);
    return () => clearInterval(every);
  }, [props.estate]);
  // A missed checkpoint is an alert: the run's states change with it.
  useLive<Alert>('alert:new', (a) => a.rule === 'patrol.missed' && void reload());
  useEffect(() => () => scanner.current?.stop(), []);

  async function submit(text: string): Promise<void> {
    const code = codeOf(text);
    if (!code) {
      setResult(null);
      setScanError(t('patrol.badCode'));
      return;
    }
    setBusy(true);
    setScanError(null);
    try {
      setResult(await scanCode(code));
      setTyped('');
      await reload();
    } catch (err) {
      setResult(null);
      setScanError(describeError(err));
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    if (!props.code) return;
    props.onCodeUsed();
    void submit(props.code);
  }, [props.code]);

  async function openCamera(): Promise<void> {
    setScanError(null);
    setResult(null);
    setScanning(true);
    try {
      scanner.current = await startScanner(video.current!, canvas.current!, (text) => {
        scanner.current = null;
        setScanning(false);
        void submit(text);
      });
    } catch (err) {
      setScanning(false);
      setScanError(t('patrol.cameraFailed', { reason: (err as Error).message || String(err) }));
    }
  }
  function closeCamera(): void {
    scanner.current?.stop();
    scanner.current = null;
    setScanning(false);
  }

  const run = runs ? currentRun(runs) : undefined;
  const next = run?.points.find((p) => p.checkpoint === run.next);
  return (
    <section class="patrol" aria-labelledby="h-patrol">
      <h2 id="h-patrol">{t('patrol.today')}</h2>
      <ErrorNote what={t('patrol.today')} error={loadError ? describeError(loadError) : null} onRetry={() => void reload()} />
      {next && run && (
        <p class="patrol-next" data-testid="patrol-next">
          {t('patrol.next')}: <b>{next.name}</b>
          {next.location && <span class="muted"> · {next.location}</span>}
          <span class="muted"> · {t('patrol.due', { time: formatTime(next.dueAt) })}</span>
        </p>
      )}
      <div class={`scanner${scanning ? ' on' : ''}`} hidden={!scanning}>
        <video ref={video} class="scanner-video" muted playsInline aria-label={t('patrol.aim')} />
        <canvas ref={canvas} hidden />
        <p class="muted">{t('patrol.aim')}</p>
        <button type="button" class="btn" onClick={closeCamera}>
          {t('patrol.cancel')}
        </button>
      </div>
      {!scanning && (
        <button type="button" class="btn primary big" data-testid="patrol-scan" disabled={busy} onClick={() => void openCamera()}>
          {t('patrol.scan')}
        </button>
      )}
      <form
        class="patrol-manual"
        onSubmit={(e) => {
          e.preventDefault();
          void submit(typed);
        }}
      >
        <label class="field">
          {t('patrol.manual')}
          <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocomplete="off" autocapitalize="characters" spellcheck={false} maxLength={40} data-testid="patrol-code" />
        </label>
        <button type="submit" class="btn" disabled={busy || typed.trim() === ''}>
          {t('patrol.manualSubmit')}
        </button>
      </form>
      {scanError && (
        <p class="error" role="alert" data-testid="patrol-error">
          {scanError}
        </p>
      )}
      {result && <ScanOutcome result={result} />}
      {runs && runs.length === 0 && <p class="muted">{t('patrol.none')}</p>}
      <ul class="cards patrol-runs">
        {(runs ?? []).map((r) => (
          <RunCard key={r.id} run={r} />
        ))}
      </ul>
      <h3>{t('patrol.history')}</h3>
      {history.length === 0 ? (
        <p class="muted">{t('patrol.noHistory')}</p>
      ) : (
        <ul class="patrol-history" data-testid="patrol-history">
          {history.map((h) => (
            <li key={`${h.run}/${h.checkpoint}`}>
              {formatDateTime(h.scannedAt)} · {h.name} · <span class="muted">{h.roundName}</span>
              {h.late && <span class="patrol-late"> · {t('patrol.point.late')}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ScanOutcome(props: { result: PatrolScanResult }) {
  const r = props.result;
  const name = r.checkpoint.name;
  const time = r.scannedAt !== undefined ? formatTime(r.scannedAt) : '';
  const text = !r.matched ? t('patrol.unmatched', { name }) : r.duplicate ? t('patrol.duplicate', { name, time }) : r.late ? t('patrol.scannedLate', { name, time }) : t('patrol.scanned', { name, time });
  const kind = !r.matched ? 'warn' : r.late ? 'warn' : 'ok';
  return (
    <p class={`notice patrol-result ${kind}`} role="status" data-testid="patrol-result" data-checkpoint={r.checkpoint.id}>
      {text}
    </p>
  );
}

const MARK: Record<string, string> = { scanned: '✓', late: '⚠', missed: '✗', pending: '○' };

function RunCard(props: { run: PatrolRunView }) {
  const r = props.run;
  return (
    <li class={`card patrol-run ${r.state}`} data-run={r.id} data-state={r.state}>
      <p class="alert-head">
        <b>{r.roundName}</b> <span class="muted">{t('patrol.window', { from: formatTime(r.startsAt), to: formatTime(r.endsAt) })}</span> · <span data-testid="run-state">{t(`patrol.state.${r.state}`)}</span>
      </p>
      <ol class="patrol-points">
        {r.points.map((p) => (
          <li key={p.checkpoint} class={`point ${p.state}${p.checkpoint === r.next ? ' next' : ''}`} data-checkpoint={p.checkpoint} data-state={p.state}>
            <span aria-hidden="true">{MARK[p.state]}</span> {p.name} <span class="muted">· {p.scannedAt !== undefined ? formatTime(p.scannedAt) : t('patrol.due', { time: formatTime(p.dueAt) })}</span> · {t(`patrol.point.${p.state}`)}
            {p.userName && <span class="muted"> · {p.userName}</span>}
          </li>
        ))}
      </ol>
    </li>
  );
}
