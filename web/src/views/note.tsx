import { describeError } from '../api.js';
import { t, type MessageKey } from '../i18n/index.js';

/**
 * The outcome of an action on a desk screen, kept as a message key or the error itself and put in
 * words when rendered, so switching the language translates it too.
 */
export type Note = { ok: true; key: MessageKey; params?: Record<string, string | number> } | { ok: false; err: unknown } | { ok: false; key: MessageKey };

export const done = (key: MessageKey, params?: Record<string, string | number>): Note => ({ ok: true, key, ...(params ? { params } : {}) });
export const failed = (err: unknown): Note => ({ ok: false, err });

export function NoteLine(props: { note: Note | null; testid?: string }) {
  const n = props.note;
  if (!n) return null;
  const text = n.ok ? t(n.key, n.params) : 'err' in n ? t('alert.failed', { detail: describeError(n.err) }) : t(n.key);
  return (
    <p class={n.ok ? 'notice ok' : 'error'} role={n.ok ? 'status' : 'alert'} data-testid={props.testid}>
      {text}
    </p>
  );
}
