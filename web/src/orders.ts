/**
 * Work orders (工单, issue 19; docs/work-orders.md) on the screens: the REST calls, the live list, and
 * the lists of the contract (protocol/work-orders.ts gives only types to the bundle, so the constants
 * the screens need are repeated here, checked against those types).
 */
import { signal } from '@preact/signals';
import { useState } from 'preact/hooks';
import { api, authHeader, ApiError } from './api.js';
import { refreshing } from './session.js';
import { useLive, useLiveState, useSync } from './live.js';
import type { LiveEventName } from './types.js';
import type { ImportAnswer, OrderBacklog, OrderCategory, OrderPhotoRef, OrderSource, OrderState, OrderTier, WorkOrderView } from '../../protocol/work-orders.js';

export type { ImportAnswer, ImportOutcome, OrderBacklog, OrderCategory, OrderPhotoRef, OrderSource, OrderState, OrderStepView, OrderTier, WhistleView, WorkOrderView } from '../../protocol/work-orders.js';

export const CATEGORIES = ['repair', 'hazard', 'sanitation', 'noise', 'help', 'other'] as const satisfies readonly OrderCategory[];
export const SOURCES = ['resident', 'alert', 'phone', 'hotline', 'staff'] as const satisfies readonly OrderSource[];
export const TIERS = ['grid', 'community', 'street'] as const satisfies readonly OrderTier[];
export const OPEN_STATES: readonly OrderState[] = ['new', 'assigned', 'in_progress', 'reopened'];
export const isOpenOrder = (o: WorkOrderView): boolean => OPEN_STATES.includes(o.state);

/** A small mark per source, beside its label (居民 / 来电 / 12345 / 告警 / 工作人员). */
export const SOURCE_ICON: Record<OrderSource, string> = { resident: '🏠', phone: '☎', hotline: '📞', alert: '🚨', staff: '👷' };

const BASE = '/api/v1/work-orders';

/** Overdue first, then the nearest deadline, then the oldest. */
export function byUrgency(a: WorkOrderView, b: WorkOrderView): number {
  return Number(b.overdue) - Number(a.overdue) || (a.deadlineAt ?? Infinity) - (b.deadlineAt ?? Infinity) || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
}

/** Insert or replace by id; an older push (updatedAt) never overwrites a newer view. */
export function upsertOrder(list: WorkOrderView[], o: WorkOrderView): WorkOrderView[] {
  const i = list.findIndex((x) => x.id === o.id);
  if (i < 0) return [o, ...list];
  if (list[i]!.updatedAt > o.updatedAt) return list;
  const next = list.slice();
  next[i] = { ...list[i], ...o };
  return next;
}

/** What the command center keeps in view: the open orders and the resolved ones waiting to be closed. */
export const CENTER_STATES: readonly OrderState[] = [...OPEN_STATES, 'resolved'];

/** The orders of the estate (all in scope when undefined) in `states`, newest first (up to 5 pages of 100). */
export async function loadOrders(estate: string | undefined, states: readonly OrderState[]): Promise<WorkOrderView[]> {
  const out: WorkOrderView[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 5; i++) {
    const q = new URLSearchParams({ ...(estate ? { estate } : {}), state: states.join(','), limit: '100', ...(cursor ? { cursor } : {}) });
    const page = await api<{ items: WorkOrderView[]; nextCursor?: string | null }>(`${BASE}?${q.toString()}`);
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    if (!cursor) break;
  }
  return out;
}

export const loadOrder = (id: string): Promise<WorkOrderView> => api<WorkOrderView>(`${BASE}/${encodeURIComponent(id)}`);

/** What the hub answers a create with: the view itself, or `{order, created}`. */
const toOrder = (raw: unknown): WorkOrderView => ((raw as { order?: WorkOrderView }).order ?? raw) as WorkOrderView;

export interface Intake {
  estate: string;
  source: 'phone' | 'staff';
  category: OrderCategory;
  description: string;
  phone?: string;
  building?: string;
  unit?: string;
}

export const createOrder = async (input: Intake): Promise<WorkOrderView> => toOrder(await api<unknown>(BASE, { method: 'POST', body: input }));
export const orderFromAlert = async (alertId: string): Promise<WorkOrderView> => toOrder(await api<unknown>(`${BASE}/from-alert/${encodeURIComponent(alertId)}`, { method: 'POST', body: {} }));

export type OrderActionName = 'assign' | 'start' | 'resolve' | 'close' | 'reopen' | 'note' | 'escalate';
export interface ActionInput {
  action: OrderActionName;
  user?: string;
  department?: string;
  note?: string;
  photos?: File[];
}

/**
 * POST an action; with photos as `multipart/form-data` (fields, then the files as `photos`), else
 * JSON. The hub answers with the order as it is now. Errors come as `ApiError`, as `api()` throws them.
 */
export async function orderAction(id: string, input: ActionInput): Promise<WorkOrderView> {
  const path = `${BASE}/${encodeURIComponent(id)}/actions`;
  const { photos, ...fields } = input;
  if (!photos?.length) return toOrder(await api<unknown>(path, { method: 'POST', body: fields }));
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, v);
  for (const f of photos) form.append('photos', f, f.name || 'photo.jpg');
  return toOrder(await post(path, form, {}));
}

/**
 * POST a body `api()` does not send (a form with files, a CSV text) with the session's token; the
 * hub's answer as JSON, or its refusal as an `ApiError`. Photos and files may take a while on a phone.
 */
async function post(path: string, body: BodyInit, headers: Record<string, string>): Promise<unknown> {
  await refreshing();
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers: { accept: 'application/json', ...headers, ...authHeader() }, body, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', (err as Error).message, path);
  }
  const answer = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  if (!res.ok || answer === undefined) throw new ApiError(res.status, answer?.error?.code ?? '', answer?.error?.message ?? '', path);
  return answer;
}

/** The full number of the reporter (center, admin; the hub audits the view). */
export const fullPhone = async (id: string): Promise<string> => {
  const r = await api<{ phone?: string | null }>(`${BASE}/${encodeURIComponent(id)}/phone`);
  return r.phone ?? '';
};

/** A department the hub whistles (吹哨) and assigns orders to (`GET /work-orders/departments`). */
export interface Department {
  id: string;
  name: { zh: string; en: string };
  /** Whether the hub messages someone when it is whistled. */
  contact: boolean;
}

/**
 * The hub's `orders.departments`, read once per page load; until then (or if the read fails) its
 * default four, so a screen never waits for the list to show a name.
 */
const DEFAULT_DEPARTMENTS: readonly Department[] = [
  { id: 'chengguan', name: { zh: '城管', en: 'City management' }, contact: false },
  { id: 'police', name: { zh: '派出所', en: 'Police station' }, contact: false },
  { id: 'market', name: { zh: '市场监管', en: 'Market supervision' }, contact: false },
  { id: 'fire', name: { zh: '消防', en: 'Fire brigade' }, contact: false },
];
const hubDepartments = signal<readonly Department[]>(DEFAULT_DEPARTMENTS);
let departmentsRead: Promise<void> | null = null;

/** The departments (a signal read: a component that calls this re-renders when the hub's list arrives). */
export function departmentList(): readonly Department[] {
  departmentsRead ??= api<{ items: Department[] }>(`${BASE}/departments`).then(
    (r) => void (hubDepartments.value = r.items),
    () => void (departmentsRead = null),
  );
  return hubDepartments.value;
}

/** A department's name in the viewer's language (its id when the hub does not list it). */
export const departmentName = (id: string, en: boolean): string => {
  const d = departmentList().find((x) => x.id === id);
  return d ? (en ? d.name.en : d.name.zh) : id;
};

/** 吹哨: the department's contact is told and must check in (报到) before the hub's check-in time. */
export const whistle = (id: string, department: string, note?: string): Promise<unknown> =>
  api<unknown>(`${BASE}/${encodeURIComponent(id)}/whistles`, { method: 'POST', body: { department, ...(note ? { note } : {}) } });


/** 12345 orders from the city's CSV file (`POST /work-orders/import.csv`, `text/csv`): each row answered on its own. */
export const importCsv = async (file: Blob): Promise<ImportAnswer> => (await post(`${BASE}/import.csv`, await file.text(), { 'content-type': 'text/csv; charset=utf-8' })) as ImportAnswer;

export const loadBacklog = async (): Promise<OrderBacklog[]> => {
  const r = await api<OrderBacklog[] | { items: OrderBacklog[] }>(`${BASE}/backlog`);
  return Array.isArray(r) ? r : r.items;
};

// Photos: `<img src>` cannot send the Bearer header; fetched once and shown as object URLs.
const photoBlobs = new Map<string, Promise<string>>();
export function photoBlob(p: OrderPhotoRef): Promise<string> {
  let u = photoBlobs.get(p.url);
  if (!u) {
    u = fetch(p.url, { headers: authHeader() }).then(async (res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return URL.createObjectURL(await res.blob());
    });
    u.catch(() => photoBlobs.delete(p.url));
    photoBlobs.set(p.url, u);
  }
  return u;
}

export const ORDER_NEW = 'order:new' satisfies LiveEventName;
export const ORDER_UPDATE = 'order:update' satisfies LiveEventName;

/**
 * The orders of `estate` (all in scope when undefined) in `states`, loaded over REST and kept live by
 * `order:new` / `order:update`; an order that leaves those states leaves the list.
 */
export function useOrders(estate: string | undefined, scopes: string[], states: readonly OrderState[] = OPEN_STATES) {
  // Pushes that come during a reload are kept on top of its answer (web/src/live-state.ts).
  const [orders, ordersLive] = useLiveState<WorkOrderView[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(false);
  const reload = () =>
    ordersLive.load(() => loadOrders(estate, states)).then(
      () => (setError(null), setLoaded(true)),
      (err) => setError(err),
    );
  useSync(scopes, reload);
  const onOrder = (o: WorkOrderView) => {
    if (estate && o.estate !== estate) return;
    ordersLive.change((list) => (states.includes(o.state) ? upsertOrder(list, o) : list.filter((x) => x.id !== o.id)));
  };
  useLive<WorkOrderView>(ORDER_NEW, onOrder);
  useLive<WorkOrderView>(ORDER_UPDATE, onOrder);
  return { orders, error, loaded, reload, onOrder };
}
