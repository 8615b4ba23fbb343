import { Counter, type Registry } from 'prom-client';

/** Why a resident's report was not stored (the `reason` label). */
export type ReportRefusal = 'rate' | 'honeypot' | 'bad-photo' | 'too-large' | 'invalid';

/** The resident pages' counters, on the hub's registry (GET /metrics). */
export function createResidentMetrics(registry: Registry) {
  return {
    accepted: new Counter({ name: 'rb_resident_reports_accepted_total', help: 'Resident reports stored as work orders (POST /r/{estate})', registers: [registry] }),
    refused: new Counter({
      name: 'rb_resident_reports_refused_total',
      help: 'Resident reports not stored, by reason: rate (per address or browser), honeypot (answered like success), bad-photo, too-large (photo or body), invalid (a field)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ratings: new Counter({ name: 'rb_resident_ratings_total', help: 'Ratings residents gave through their follow link, by rating', labelNames: ['rating'] as const, registers: [registry] }),
  };
}
export type ResidentMetrics = ReturnType<typeof createResidentMetrics>;
