/**
 * Work orders (工单, issue 19; docs/work-orders.md): the views the screens and the resident's page read,
 * and the lists every part shares. Plain types and constants only: the browser bundle imports this file,
 * and the hub validates inputs with zod where it parses them (hub/orders).
 */

/** What a resident (or a caller, or the city) reports. Labels: web/src/i18n, hub/residents/labels.ts. */
export const ORDER_CATEGORIES = ['repair', 'hazard', 'sanitation', 'noise', 'help', 'other'] as const;
export type OrderCategory = (typeof ORDER_CATEGORIES)[number];

/**
 * Where an order came from: a resident's QR report, an alert turned into an order (转工单), the
 * dedicated phone line (来电登记), a 12345 city-hotline order (imported), or staff on their own.
 */
export const ORDER_SOURCES = ['resident', 'alert', 'phone', 'hotline', 'staff'] as const;
export type OrderSource = (typeof ORDER_SOURCES)[number];

/** 网格 grid → 社区 community → 街道 street: an order not resolved in time moves one tier up. */
export const ORDER_TIERS = ['grid', 'community', 'street'] as const;
export type OrderTier = (typeof ORDER_TIERS)[number];

/** new → assigned → in_progress → resolved → closed (confirmed), or reopened (→ assigned / in_progress). */
export const ORDER_STATES = ['new', 'assigned', 'in_progress', 'resolved', 'closed', 'reopened'] as const;
export type OrderState = (typeof ORDER_STATES)[number];
/** States in which an order counts against its deadline and the estate's backlog. */
export const OPEN_ORDER_STATES: readonly OrderState[] = ['new', 'assigned', 'in_progress', 'reopened'];

/** What a step of an order's history records. */
export const ORDER_ACTIONS = [
  'created',
  'assigned',
  'started',
  'resolved',
  'closed',
  'reopened',
  'note',
  'escalated',
  'whistled',
  'checked_in',
  'reported',
  'rated',
] as const;
export type OrderAction = (typeof ORDER_ACTIONS)[number];

/** The resident's rating after resolution. */
export const ORDER_RATINGS = ['satisfied', 'basically', 'unsatisfied'] as const;
export type OrderRating = (typeof ORDER_RATINGS)[number];

export interface OrderPhotoRef {
  id: string;
  /** GET this with the user's token (photos of a resident's own order: through the follow link). */
  url: string;
  contentType: string;
  bytes: number;
}

export interface OrderStepView {
  id: string;
  at: number;
  action: OrderAction;
  /** `user:<id>`, `resident`, `department:<id>`, `system`. */
  actor: string;
  actorName?: string | null;
  fromState?: OrderState | null;
  toState?: OrderState | null;
  tier?: OrderTier | null;
  note?: string | null;
  photos: OrderPhotoRef[];
}

export interface WhistleView {
  id: string;
  department: string;
  departmentName: string;
  whistledAt: number;
  /** Check in (报到) before this, or the whistle counts as missed. */
  checkInBy: number;
  checkedInAt?: number | null;
  reportedAt?: number | null;
  report?: string | null;
  /** checkInBy passed without a check-in. */
  missed: boolean;
}

export interface WorkOrderView {
  id: string;
  /** Human number shown on screens and read over the phone, e.g. `GD20261207-0003`. */
  no: string;
  estate: string;
  estateName?: string | null;
  source: OrderSource;
  category: OrderCategory;
  tier: OrderTier;
  state: OrderState;
  title: string;
  description: string;
  building?: string | null;
  unit?: string | null;
  /** The reporter's phone: masked (138****5678) for volunteers and patrols; full for the center (audited). */
  phone?: string | null;
  /** A 12345 order's number at the city. */
  externalNo?: string | null;
  alertId?: string | null;
  assigneeUser?: string | null;
  assigneeName?: string | null;
  assigneeDept?: string | null;
  createdAt: number;
  updatedAt: number;
  /** When the current tier's time runs out (null once resolved). */
  deadlineAt?: number | null;
  overdue: boolean;
  resolvedAt?: number | null;
  closedAt?: number | null;
  rating?: OrderRating | null;
  reopenCount: number;
  steps?: OrderStepView[];
  whistles?: WhistleView[];
}

/** What the resident's follow link shows: no names of staff, no phone. */
export interface ResidentOrderView {
  no: string;
  estateName: string;
  category: OrderCategory;
  state: OrderState;
  createdAt: number;
  resolvedAt?: number | null;
  rating?: OrderRating | null;
  canRate: boolean;
  canReopen: boolean;
  /** `photos`: ids of the step's photos the resident may see (GET /r/f/{token}/photos/{id}). */
  steps: { at: number; action: OrderAction; note?: string | null; photos?: string[] }[];
  /** What the resident wrote (shown back to them as text). */
  description?: string;
  building?: string | null;
  unit?: string | null;
}

/** Per estate: the street overview's backlog line. */
export interface OrderBacklog {
  estate: string;
  open: number;
  overdue: number;
  byTier: Record<OrderTier, number>;
}

/** 12345 orders per local month, and this month against the one before (docs/work-orders.md, "Figures"). */
export interface HotlineTrend {
  months: { month: string; orders: number }[];
  thisMonth: number;
  previousMonth: number;
  /** (this − previous) / previous in %, one decimal; null when the previous month had none. */
  changePct: number | null;
  trend: 'up' | 'down' | 'flat';
}

/** Whistles (吹哨) in the range: how many, checked in, missed, the median time to check in. */
export interface WhistleFigures {
  whistles: number;
  checkedIn: number;
  missed: number;
  medianCheckInMs: number | null;
}

/** The figures of one estate, or of all the estates asked for together (GET /api/v1/work-orders/figures). */
export interface OrderFiguresBlock {
  /** Orders created in the range. */
  orders: number;
  byCategory: Record<OrderCategory, number>;
  bySource: Record<OrderSource, number>;
  /** Orders resolved in the range, and the median time from creation to resolution. */
  resolved: number;
  medianResolveMs: number | null;
  /** Of those, resolved without running out of time (never escalated by a deadline); % one decimal. */
  deadlinesMet: number;
  deadlinesMetPct: number | null;
  /** Ratings of the orders resolved in the range; satisfied % counts 满意 and 基本满意. */
  ratings: Record<OrderRating, number>;
  rated: number;
  satisfiedPct: number | null;
  hotline: HotlineTrend;
  /** Departments whistled (吹哨) in the range. */
  whistles?: WhistleFigures;
}

export interface OrderFigures {
  from: number;
  to: number;
  timeZone: string;
  /** The street asked for, with its name. */
  street?: { id: string; name: string | null };
  /** Every estate below together (the street's figures when a street was asked for). */
  total: OrderFiguresBlock;
  estates: (OrderFiguresBlock & { estate: string; name: string | null })[];
}

/** One item of a 12345 import's answer (`POST /work-orders/import`, `import.csv`): created, existing (the same city number again), or its error (and CSV line; the header is line 1). */
export type ImportOutcome =
  | { index: number; line?: number; externalNo: string; result: 'created' | 'existing'; id: string; no: string }
  | { index: number; line?: number; externalNo?: string; result: 'error'; error: { code: string; message: string; field?: string } };

export interface ImportAnswer {
  created: number;
  existing: number;
  failed: number;
  items: ImportOutcome[];
}
