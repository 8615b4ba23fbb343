import { useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { t, type MessageKey } from '../i18n/index.js';
import { OPEN_STATES, orderAction, type ActionInput, type OrderActionName, type WorkOrderView } from '../orders.js';
import type { Person } from '../people.js';

/** A department an order can go to (`orders.departments` of the hub config). */
export interface Department {
  id: string;
  name: string;
}
import { session } from '../session.js';

type Form = 'resolve' | 'note' | null;

/**
 * What a person does with a work order (docs/work-orders.md, `POST /work-orders/:id/actions`): take it
 * (assign to me), assign it to a person or a department (center, admin), start, resolve with a note and
 * photos (the phone's camera: `capture="environment"`), close, reopen, escalate, add a note. Each action
 * says what it did, or the hub's error in words; the buttons offered follow the order's state, and the
 * hub still checks every transition.
 */
export function OrderActions(props: { order: WorkOrderView; onChange: (o: WorkOrderView) => void; candidates?: Person[]; departments?: Department[] }) {
  const o = props.order;
  const me = session.value?.user;
  const desk = me?.role === 'center' || me?.role === 'admin';
  const [busy, setBusy] = useState<OrderActionName | null>(null);
  const [form, setForm] = useState<Form>(null);
  const [note, setNote] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [done, setDone] = useState<MessageKey | null>(null);
  const [error, setError] = useState<{ kind: 'note' } | { kind: 'failed'; err: unknown } | null>(null);

  async function act(input: ActionInput) {
    setBusy(input.action);
    setError(null);
    setDone(null);
    try {
      const updated = await orderAction(o.id, input);
      props.onChange(updated);
      setDone(`orders.done.${input.action}` as MessageKey);
      setForm(null);
      setNote('');
      setFiles([]);
    } catch (err) {
      setError({ kind: 'failed', err });
    } finally {
      setBusy(null);
    }
  }

  function submit(action: 'resolve' | 'note') {
    if (!note.trim()) return setError({ kind: 'note' });
    void act({ action, note: note.trim(), ...(files.length ? { photos: files } : {}) });
  }

  const open = OPEN_STATES.includes(o.state);
  const mine = !!me && o.assigneeUser === me.id;
  const people = (props.candidates ?? []).filter((p, i, all) => p.id && all.findIndex((q) => q.id === p.id) === i);
  const depts = props.departments ?? [];
  const dis = busy !== null;

  return (
    <div class="o-actions" data-testid="order-actions">
      {error && (
        <p class="error" role="alert" data-testid="order-error">
          {error.kind === 'note' ? t('orders.noteRequired') : t('orders.failed', { detail: describeError(error.err) })}
        </p>
      )}
      {done && !error && (
        <p class="notice ok" role="status" data-testid="order-done">
          {t(done)}
        </p>
      )}
      {form ? (
        <form
          class="o-form"
          data-testid={`order-form-${form}`}
          onSubmit={(e) => {
            e.preventDefault();
            submit(form);
          }}
        >
          <label>
            {form === 'resolve' ? t('orders.resolveNote') : t('orders.note')}
            <textarea name="note" rows={3} value={note} placeholder={t('orders.notePlaceholder')} onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <label class="o-file">
            {t('orders.addPhoto')}
            <input type="file" name="photo" accept="image/*" capture="environment" multiple onChange={(e) => setFiles([...(e.currentTarget.files ?? [])].slice(0, 3))} data-testid="order-photo-input" />
          </label>
          {files.length > 0 && <p class="muted">{t('orders.photoPicked', { n: files.length })}</p>}
          <div class="actions">
            <button type="submit" class="btn primary" disabled={dis}>
              {form === 'resolve' ? t('orders.resolveConfirm') : t('orders.noteSend')}
            </button>
            <button type="button" class="btn" disabled={dis} onClick={() => (setForm(null), setError(null))}>
              {t('orders.cancel')}
            </button>
          </div>
        </form>
      ) : (
        <div class="actions">
          {open && !mine && me && (
            <button type="button" class="btn primary" disabled={dis} onClick={() => void act({ action: 'assign', user: me.id })} data-testid="order-take">
              {t('orders.take')}
            </button>
          )}
          {(o.state === 'assigned' || o.state === 'reopened') && (mine || desk) && (
            <button type="button" class="btn primary" disabled={dis} onClick={() => void act({ action: 'start' })} data-testid="order-start">
              {t('orders.start')}
            </button>
          )}
          {o.state === 'in_progress' && (
            <button type="button" class="btn primary" disabled={dis} onClick={() => (setForm('resolve'), setDone(null))} data-testid="order-resolve">
              {t('orders.resolve')}
            </button>
          )}
          {desk && o.state === 'resolved' && (
            <button type="button" class="btn primary" disabled={dis} onClick={() => void act({ action: 'close' })} data-testid="order-close">
              {t('orders.close')}
            </button>
          )}
          {desk && (o.state === 'resolved' || o.state === 'closed') && (
            <button type="button" class="btn" disabled={dis} onClick={() => void act({ action: 'reopen' })} data-testid="order-reopen">
              {t('orders.reopen')}
            </button>
          )}
          {desk && open && o.tier !== 'street' && (
            <button type="button" class="btn" disabled={dis} onClick={() => void act({ action: 'escalate' })} data-testid="order-escalate">
              {t('orders.escalate')}
            </button>
          )}
          <button type="button" class="btn" disabled={dis} onClick={() => (setForm('note'), setDone(null))} data-testid="order-note">
            {t('orders.note')}
          </button>
        </div>
      )}
      {desk && open && !form && (people.length > 0 || depts.length > 0) && (
        <div class="assign" data-testid="order-assign">
          {people.length > 0 && (
            <select aria-label={t('orders.assignTo')} value="" disabled={dis} onChange={(e) => e.currentTarget.value && void act({ action: 'assign', user: e.currentTarget.value })}>
              <option value="">{t('orders.assignPick')}</option>
              {people.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
          {depts.length > 0 && (
            <select aria-label={t('orders.assignDept')} value="" disabled={dis} onChange={(e) => e.currentTarget.value && void act({ action: 'assign', department: e.currentTarget.value })} data-testid="order-assign-dept">
              <option value="">{t('orders.assignDeptPick')}</option>
              {depts.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          )}
        </div>
      )}
    </div>
  );
}
