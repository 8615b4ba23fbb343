import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { t, tOr } from '../i18n/index.js';
import { CATEGORIES, createOrder, type OrderCategory, type WorkOrderView } from '../orders.js';

/** A mainland number, a landline with area code, or an extension: digits, spaces, + and - only. */
const PHONE = /^\+?[0-9][0-9 -]{4,22}$/;

/**
 * 来电登记: the volunteer or the center answering the dedicated line writes the call down as a work
 * order with source `phone` (caller number, category, building/unit, description). Says which order
 * it became, or why the hub refused it.
 */
export function PhoneIntake(props: { estate: string; onCreated: (o: WorkOrderView) => void; onClose: () => void }) {
  const [phone, setPhone] = useState('');
  const [category, setCategory] = useState<OrderCategory>('repair');
  const [building, setBuilding] = useState('');
  const [unit, setUnit] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ kind: 'description' | 'phone' } | { kind: 'failed'; err: unknown } | null>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  async function submit() {
    if (phone.trim() && !PHONE.test(phone.trim())) return setError({ kind: 'phone' });
    if (!description.trim()) return setError({ kind: 'description' });
    setBusy(true);
    setError(null);
    try {
      const o = await createOrder({
        estate: props.estate,
        source: 'phone',
        category,
        description: description.trim(),
        ...(phone.trim() ? { phone: phone.trim() } : {}),
        ...(building.trim() ? { building: building.trim() } : {}),
        ...(unit.trim() ? { unit: unit.trim() } : {}),
      });
      props.onCreated(o);
    } catch (err) {
      setError({ kind: 'failed', err });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      class="o-intake"
      data-testid="order-intake"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2>{t('orders.intakeTitle')}</h2>
      {error && (
        <p class="error" role="alert" data-testid="intake-error">
          {error.kind === 'failed' ? t('orders.failed', { detail: describeError(error.err) }) : error.kind === 'description' ? t('orders.descriptionRequired') : t('orders.phoneInvalid')}
        </p>
      )}
      <label>
        {t('orders.callerPhone')}
        <input ref={first} name="phone" type="tel" inputMode="tel" autoComplete="off" value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
      </label>
      <label>
        {t('orders.category')}
        <select name="category" value={category} onChange={(e) => setCategory(e.currentTarget.value as OrderCategory)}>
          {CATEGORIES.map((c) => (
            <option key={c} value={c}>
              {tOr('orders.cat', c)}
            </option>
          ))}
        </select>
      </label>
      <div class="o-row">
        <label>
          {t('orders.building')}
          <input name="building" value={building} maxLength={32} onInput={(e) => setBuilding(e.currentTarget.value)} />
        </label>
        <label>
          {t('orders.unit')}
          <input name="unit" value={unit} maxLength={32} onInput={(e) => setUnit(e.currentTarget.value)} />
        </label>
      </div>
      <label>
        {t('orders.description')}
        <textarea name="description" rows={4} maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <div class="actions">
        <button type="submit" class="btn primary" disabled={busy} data-testid="intake-submit">
          {t('orders.create')}
        </button>
        <button type="button" class="btn" disabled={busy} onClick={props.onClose}>
          {t('orders.cancel')}
        </button>
      </div>
    </form>
  );
}
