import type { OrderAction, OrderCategory, OrderRating, OrderState } from '../../protocol/work-orders.js';

/**
 * What the resident's pages say (zh-CN first, English beneath): categories, states, the steps of an
 * order and the ratings. The screens have their own (web/src/i18n); these serve the server-rendered pages.
 */
export type Bilingual = readonly [zh: string, en: string];

export const CATEGORY_LABELS: Record<OrderCategory, Bilingual> = {
  repair: ['报修', 'Repair'],
  hazard: ['安全隐患', 'Safety hazard'],
  sanitation: ['环境卫生', 'Sanitation'],
  noise: ['噪音扰民', 'Noise'],
  help: ['求助', 'Help'],
  other: ['其他', 'Other'],
};

export const STATE_LABELS: Record<OrderState, Bilingual> = {
  new: ['已受理，待派单', 'Received, waiting to be assigned'],
  assigned: ['已派单', 'Assigned'],
  in_progress: ['处理中', 'In progress'],
  resolved: ['已办结，请评价', 'Resolved: please rate it'],
  closed: ['已完成', 'Closed'],
  reopened: ['已重新处理', 'Reopened'],
};

/** A step as the resident sees it: no names, no phone numbers. */
export const ACTION_LABELS: Record<OrderAction, Bilingual> = {
  created: ['提交报事', 'Report filed'],
  assigned: ['已派单给处理人员', 'Assigned to staff'],
  started: ['开始处理', 'Work started'],
  resolved: ['已办结', 'Resolved'],
  closed: ['已完成', 'Closed'],
  reopened: ['重新处理', 'Reopened'],
  note: ['处理进展', 'Progress noted'],
  escalated: ['已上报上级（社区/街道）', 'Passed up (community / street)'],
  whistled: ['已通知相关部门', 'Department called in'],
  checked_in: ['相关部门已报到', 'Department checked in'],
  reported: ['相关部门已反馈', 'Department reported back'],
  rated: ['居民评价', 'Rated by the resident'],
};

export const RATING_LABELS: Record<OrderRating, Bilingual> = {
  satisfied: ['满意', 'Satisfied'],
  basically: ['基本满意', 'Mostly satisfied'],
  unsatisfied: ['不满意', 'Not satisfied'],
};

/** Steps whose note the resident may read (the resolution, their own words); other notes stay internal. */
export const RESIDENT_NOTE_ACTIONS: ReadonlySet<OrderAction> = new Set(['resolved', 'closed', 'reopened', 'rated']);
