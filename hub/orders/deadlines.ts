import { z } from 'zod';
import { ORDER_CATEGORIES, ORDER_TIERS, type OrderCategory, type OrderTier } from '../../protocol/work-orders.js';
import { parseDuration } from '../people/tokens.js';

/**
 * Tiers and deadlines of work orders (issue 19, docs/work-orders.md "States and tiers"): the hub
 * config's `orders` keys of this part, and `deadlineFor`, the one place a tier's time to resolve is
 * read. The work-order service takes `deadlineFor` as a dependency (hub/main.ts), the deadline
 * sweep (deadlines-sweep.ts) and the whistles (whistle.ts) read the rest.
 */

const DURATION = /^[1-9]\d{0,5}[smhd]$/;
const duration = () => z.string().regex(DURATION, 'a duration such as 30m, 4h, 24h or 7d');
const Duration = (what: string, fallback: string) => duration().default(fallback).describe(what);
const MaybeDuration = (what: string, fallback?: string) => (fallback === undefined ? duration().optional() : duration().default(fallback)).describe(what);

/** One category's time to resolve at each tier; an unset tier falls back to `orders.deadlines.default`. */
const tierTimes = (category: string, defaults?: Record<OrderTier, string>) =>
  z
    .object({
      grid: MaybeDuration(`${category}: time to resolve at the grid (网格) before the order moves to the community`, defaults?.grid),
      community: MaybeDuration(`${category}: time to resolve at the community (社区) before the order moves to the street`, defaults?.community),
      street: MaybeDuration(`${category}: time to resolve at the street (街道); past it the order stays there, marked overdue`, defaults?.street),
    })
    .strict()
    .prefault({});

/** Safety first: a hazard or a call for help moves up sooner than a dripping tap. */
const DEFAULT_TIMES: Record<OrderTier, string> = { grid: '24h', community: '48h', street: '72h' };
const URGENT_TIMES: Record<OrderTier, string> = { grid: '4h', community: '8h', street: '24h' };

const Deadlines = z
  .object({
    default: tierTimes('Every category without its own entry', DEFAULT_TIMES),
    repair: tierTimes('报修 repair'),
    hazard: tierTimes('安全隐患 hazard', URGENT_TIMES),
    sanitation: tierTimes('环境卫生 sanitation'),
    noise: tierTimes('噪音扰民 noise'),
    help: tierTimes('求助 help', URGENT_TIMES),
    other: tierTimes('其他 other'),
  })
  .strict();

/** Where a department is told it was whistled: a configured channel (`notify.channels[].id`) and, for a person-addressed channel, the address. */
const DepartmentContact = z
  .object({
    channel: z.string().regex(/^[a-z0-9-]{1,64}$/).describe('A configured channel instance (notify.channels[].id), e.g. an SMS or a webhook channel'),
    phone: z.string().regex(/^\+?\d{6,15}$/).optional().describe('Mobile number, for an SMS or voice channel'),
    wecomUser: z.string().min(1).max(64).optional().describe('WeCom member id, for the wecom-app channel'),
  })
  .strict();

const Department = z
  .object({
    id: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}'),
    name: z.object({ zh: z.string().min(1).max(40), en: z.string().min(1).max(80) }).strict(),
    contact: DepartmentContact.optional(),
  })
  .strict();
export type DepartmentConfig = z.output<typeof Department>;

/** 城管, 派出所, 市场监管, 消防: whistled by default; without a contact the whistle is recorded and nobody is messaged (logged). */
export const DEFAULT_DEPARTMENTS: DepartmentConfig[] = [
  { id: 'chengguan', name: { zh: '城管', en: 'City management' } },
  { id: 'police', name: { zh: '派出所', en: 'Police station' } },
  { id: 'market', name: { zh: '市场监管', en: 'Market supervision' } },
  { id: 'fire', name: { zh: '消防', en: 'Fire brigade' } },
];

/** The `orders` keys of tiers, deadlines and whistles (hub/config.ts spreads this shape into its `orders` section). */
export const OrderDeadlinesShape = {
  deadlines: Deadlines.prefault({}).describe('Time to resolve per category and tier (网格 grid → 社区 community → 街道 street); past it an open order moves one tier up'),
  sweepEvery: Duration('How often the hub looks for orders past their deadline, resolved orders to close and whistles not checked in', '1m'),
  departments: z
    .array(Department)
    .default(DEFAULT_DEPARTMENTS)
    .describe(
      'Departments the street or community can whistle (吹哨), each {id, name: {zh, en}, contact?: {channel, phone? | wecomUser?}}; a department without a contact is whistled and recorded, but not messaged. As an environment variable: a JSON array',
    ),
  whistle: z
    .object({
      checkInWithin: Duration('A whistled department checks in (报到) within this, or the whistle counts as missed', '2h'),
      reportWithin: Duration('A whistled department reports back within this after the whistle (shown on its /w/ page as the time to report by)', '24h'),
    })
    .strict()
    .prefault({})
    .describe('Whistle and report (吹哨报到)'),
};

export const OrderDeadlinesConfig = z.object(OrderDeadlinesShape).strict();
export type OrderDeadlinesConfig = z.output<typeof OrderDeadlinesConfig>;

/** grid → community → street; null at the street (the last tier). */
export function nextTier(tier: OrderTier): OrderTier | null {
  const i = ORDER_TIERS.indexOf(tier);
  return i >= 0 && i < ORDER_TIERS.length - 1 ? ORDER_TIERS[i + 1]! : null;
}

export type DeadlineFor = (category: OrderCategory, tier: OrderTier, from: number) => number;

/** When an order of `category` entering `tier` at `from` runs out of time there. */
export function deadlinesFrom(config: Pick<OrderDeadlinesConfig, 'deadlines'>): DeadlineFor {
  const ms = new Map<string, number>();
  for (const category of [...ORDER_CATEGORIES, 'default'] as const) {
    for (const tier of ORDER_TIERS) {
      const text = config.deadlines[category]?.[tier] ?? config.deadlines.default[tier] ?? DEFAULT_TIMES[tier];
      ms.set(`${category}/${tier}`, parseDuration(text));
    }
  }
  return (category, tier, from) => from + (ms.get(`${category}/${tier}`) ?? ms.get(`default/${tier}`)!);
}

/** Problems of the departments list: duplicate ids, and contacts naming a channel that is not configured. */
export function checkDepartments(departments: readonly DepartmentConfig[], channelIds: readonly string[], prefix = 'orders.departments'): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const seen = new Set<string>();
  departments.forEach((d, i) => {
    if (seen.has(d.id)) problems.push({ path: `${prefix}[${i}].id`, message: `duplicate department id ${JSON.stringify(d.id)}` });
    seen.add(d.id);
    if (d.contact && !channelIds.includes(d.contact.channel)) {
      problems.push({ path: `${prefix}[${i}].contact.channel`, message: `no channel ${JSON.stringify(d.contact.channel)} in notify.channels` });
    }
  });
  return problems;
}
