import type { Logger } from '../../lib/log.js';
import type { InfluxHttp } from './influx-http.js';
import type { InfluxSpool, SpoolPoint } from './influx-spool.js';

export interface WriterOptions {
  http: InfluxHttp;
  spool: InfluxSpool;
  log: Logger;
  /** Retention policy the points go to. */
  rp: string;
  /** Points per HTTP write. */
  batchSize: number;
  /** Longest a point waits for others to join its batch while a request is in flight, ms. */
  flushMs: number;
  /** HTTP writes at once (direct writes and replay each). */
  maxInFlight: number;
  /** A direct write without an answer after this long is spooled and its callers released, ms. */
  spoolAfterMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /**
   * Let every batch fill for flushMs, also when no request is in flight (the hub's: its caller, the
   * event log's InfluxDB consumer, waits for nobody's acknowledgement). Off: an idle writer sends at
   * the next turn.
   */
  linger?: boolean | undefined;
  /** A batch was written to InfluxDB straight from submit() (not replayed), at `at` (ms). */
  onWritten?: ((points: readonly SpoolPoint[], at: number) => void) | undefined;
}

export interface WriterStats {
  /** `direct`: writes go to InfluxDB; `spool`: InfluxDB failed or the spool is not drained yet. */
  mode: 'direct' | 'spool';
  spoolDepth: number;
  /** Points put in the spool since start. */
  spooled: number;
  /** Spooled points written to InfluxDB since start. */
  replayed: number;
  /** Points written to InfluxDB straight from write() since start. */
  written: number;
  /** Points refused for good since start (InfluxDB 400 or unencodable), and rows kept in the table. */
  deadLettered: number;
  deadLetterTotal: number;
  /** HTTP write requests that InfluxDB acknowledged. */
  batches: number;
  /** Failed write attempts that will be retried (network, timeout, 5xx). */
  retries: number;
  /** Extra requests made to isolate poison points. */
  bisections: number;
  inFlight: number;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
}
