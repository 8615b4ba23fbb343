/**
 * Whistle and report (吹哨报到, issue 19; migration `0016_order_whistles`, hub/orders/whistle.ts): one
 * row per department whistled on a work order, with its check-in (报到), its report back, the hash of
 * its private link's secret, and whether its contact was told.
 */
export interface OrderWhistlesTable {
  id: string;
  order_id: string;
  estate: string;
  department: string;
  /** `user:<id>` or `system`. */
  whistled_by: string;
  note: string | null;
  whistled_at: number;
  check_in_by: number;
  report_by: number;
  checked_in_at: number | null;
  reported_at: number | null;
  report: string | null;
  /** sha256 hex of the /w/ link's secret (the secret itself is only in the message). */
  token_hash: string;
  /** When the hub first saw check_in_by pass without a check-in (counted once). */
  missed_at: number | null;
  /** The department's contact: none (no contact configured), pending, sent, failed. */
  notify_state: 'none' | 'pending' | 'sent' | 'failed';
  notify_attempts: number;
  notify_next_at: number | null;
  notify_error: string | null;
}

export interface WhistlesSchema {
  order_whistles: OrderWhistlesTable;
}
