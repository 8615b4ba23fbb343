import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeviceMeter, DeviceState, RequestOutcome } from '../devices/types.js';
import type { GatewayStatus } from '../protocol/index.js';
import type { Uplink } from './uplink.js';
import type { VideoRelayStats } from './video/relay.js';

export interface GatewayMetricsDeps {
  /** The gateway's own status (gateway/main.ts): device health, outbox, hub contact. */
  status(): GatewayStatus;
  uplink: Pick<Uplink, 'connected' | 'stats'>;
  /** The video relay's counters, when it runs (gateway/video/relay.ts). */
  video?: (() => VideoRelayStats | undefined) | undefined;
}

export interface GatewayMetrics {
  /** The meter a driver gets in its DriverContext: counts that device's requests by op and outcome. */
  meter(device: string): DeviceMeter;
  /** Start sampling the event loop and collecting the process metrics (only when /metrics is served). */
  start(): void;
  stop(): void;
  /** Every metric in the text exposition format, read fresh from the gateway. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

const STATES: readonly DeviceState[] = ['online', 'offline', 'auth-failed'];
const OUTCOMES: ReadonlySet<RequestOutcome> = new Set(['ok', 'auth-failed', 'timeout', 'error']);
/**
 * Distinct `op` values kept per device. Drivers pass fixed names ("PullMessages"), so this is never
 * reached by a correct driver; it keeps a driver that put a variable into `op` from growing the
 * registry without bound. Further ops are counted as "other".
 */
const MAX_OPS_PER_DEVICE = 32;

/**
 * The gateway's Prometheus metrics, on a registry of its own (several gateways can live in one test
 * process). Labels are device ids from the validated config and fixed op names, so the series are
 * bounded. Everything but the request counter is read from `status()` once per scrape, so a scrape
 * shows the same numbers the hub gets in the next heartbeat.
 */
export function createGatewayMetrics(deps: GatewayMetricsDeps): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: 'rb_gateway_device_requests_total',
    help: 'Requests the gateway made to a device (SOAP call, HTTP command or poll), by op and outcome (ok, auth-failed, timeout, error)',
    labelNames: ['device', 'op', 'outcome'] as const,
    registers,
  });
  const loopDelay = new Gauge({
    name: 'rb_gateway_event_loop_delay_seconds',
    help: 'Event-loop delay since the previous scrape, by quantile (0.5, 0.99; 1 = the largest)',
    labelNames: ['quantile'] as const,
    registers,
  });
  const deviceState = new Gauge({
    name: 'rb_gateway_device_state',
    help: 'Device state: 1 for the current one of online, offline, auth-failed; 0 for the others',
    labelNames: ['device', 'state'] as const,
    registers,
  });
  const misbehaviour = new Counter({
    name: 'rb_gateway_device_misbehaviour_total',
    help: 'Misbehaviour a device showed and the gateway worked around, by code (pull-early: a PullMessages answered at once with nothing)',
    labelNames: ['device', 'code'] as const,
    registers,
  });
  const deviceWarnings = new Gauge({
    name: 'rb_gateway_device_warnings',
    help: 'Misbehaviours the gateway works around for a device (e.g. pull-early)',
    labelNames: ['device'] as const,
    registers,
  });
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  // Counters whose value the gateway already keeps (outbox, uplink): set at each scrape, never incremented here.
  const mirrored = (name: string, help: string) => new Counter({ name, help, registers });
  const g = {
    outboxDepth: gauge('rb_gateway_outbox_depth', 'Events waiting for the hub'),
    outboxAlarms: gauge('rb_gateway_outbox_alarms', 'Alarm-class events among them'),
    outboxBytes: gauge('rb_gateway_outbox_bytes', 'Bytes of the waiting events'),
    outboxOldest: gauge('rb_gateway_outbox_oldest_age_seconds', 'Age of the oldest waiting event; 0 when none waits'),
    outboxPressure: gauge('rb_gateway_outbox_pressure', '1 while the outbox is at a cap (or the disk is full) and drops routine events'),
    uplinkConnected: gauge('rb_gateway_uplink_connected', '1 while the MQTT link to the hub is up'),
    hubContactAge: gauge('rb_gateway_hub_contact_age_seconds', 'Seconds since the hub last answered anything; since the gateway started when it never has'),
    uplinkInflight: gauge('rb_gateway_uplink_inflight', 'Events published and not yet acknowledged'),
  };
  const c = {
    outboxDropped: mirrored('rb_gateway_outbox_dropped_total', 'Routine events dropped at the outbox caps, over the outbox\'s life (kept across restarts)'),
    reconnects: mirrored('rb_gateway_uplink_reconnects_total', 'Connections to the hub lost since start'),
    published: mirrored('rb_gateway_uplink_published_total', 'Event publishes since start (re-sends after a reconnect included)'),
    acked: mirrored('rb_gateway_uplink_acked_total', 'Events the hub acknowledged since start'),
  };
  const video = {
    connected: gauge('rb_gateway_video_relay_connected', '1 while the live-video relay link (WebSocket) to the hub is up'),
    streams: gauge('rb_gateway_video_streams', 'Live-video streams pulled now (one ffmpeg child each)'),
    bytes: mirrored('rb_gateway_video_relayed_bytes_total', 'Bytes of video frames relayed to the hub since start'),
    dropped: mirrored('rb_gateway_video_segments_dropped_total', 'Media segments dropped because the relay link was backed up'),
    bad: mirrored('rb_gateway_video_bad_messages_total', 'Hub messages on the relay link that were not understood and were ignored'),
    errors: new Counter({
      name: 'rb_gateway_video_stream_errors_total',
      help: 'Live-video streams that could not start or stopped by themselves, by code (RB_ERR_CAMERA_UNREACHABLE, RB_ERR_VIDEO_BROKEN, RB_ERR_VIDEO_CAP, RB_ERR_NOT_FOUND)',
      labelNames: ['code'] as const,
      registers,
    }),
  };
  const info = new Gauge({
    name: 'rb_gateway_info',
    help: 'Always 1; the labels name the gateway and its software version',
    labelNames: ['estate', 'gateway', 'version'] as const,
    registers,
  });

  const opsOf = new Map<string, Set<string>>();
  let loop: IntervalHistogram | undefined;
  let processMetrics = false;

  function refresh(): void {
    const s = deps.status();
    const u = deps.uplink.stats();
    const now = Date.now();
    info.reset();
    info.set({ estate: s.estate, gateway: s.gateway, version: s.version ?? 'unknown' }, 1);
    // reset() first: a device removed by a config reload must not keep its last state forever.
    deviceState.reset();
    deviceWarnings.reset();
    for (const [id, health] of Object.entries(s.devices ?? {})) {
      const state = health.state ?? (health.online ? 'online' : 'offline');
      for (const each of STATES) deviceState.set({ device: id, state: each }, each === state ? 1 : 0);
      deviceWarnings.set({ device: id }, health.warnings?.length ?? 0);
    }
    if (s.outbox) {
      g.outboxDepth.set(s.outbox.depth);
      g.outboxAlarms.set(s.outbox.alarms);
      g.outboxBytes.set(s.outbox.bytes);
      g.outboxOldest.set(s.outbox.oldestAgeS ?? 0);
      g.outboxPressure.set(s.outbox.pressure ? 1 : 0);
      setCounter(c.outboxDropped, s.outbox.droppedTotal);
    }
    g.uplinkConnected.set(deps.uplink.connected() ? 1 : 0);
    g.uplinkInflight.set(u.inflight);
    const startedAt = now - (s.uptimeS ?? 0) * 1000;
    g.hubContactAge.set(Math.max(0, now - (u.lastHubContact ?? startedAt)) / 1000);
    setCounter(c.reconnects, u.reconnects);
    setCounter(c.published, u.published);
    setCounter(c.acked, u.acked);
    const v = deps.video?.();
    if (v) {
      video.connected.set(v.connected ? 1 : 0);
      video.streams.set(v.running);
      setCounter(video.bytes, v.bytesRelayed);
      setCounter(video.dropped, v.segmentsDropped);
      setCounter(video.bad, v.badMessages);
      video.errors.reset();
      for (const [code, n] of Object.entries(v.errors)) video.errors.inc({ code }, n);
    }
    if (loop) {
      // Window: since the previous scrape (perf_hooks keeps a histogram; we read and reset it), so a
      // stall between two scrapes shows in the next one however short it was.
      loopDelay.set({ quantile: '0.5' }, loop.percentile(50) / 1e9);
      loopDelay.set({ quantile: '0.99' }, loop.percentile(99) / 1e9);
      loopDelay.set({ quantile: '1' }, loop.max / 1e9);
      loop.reset();
    }
  }

  return {
    meter(device) {
      const ops = opsOf.get(device) ?? new Set<string>();
      opsOf.set(device, ops);
      return {
        request(op, outcome) {
          if (!ops.has(op)) {
            if (ops.size >= MAX_OPS_PER_DEVICE) op = 'other';
            else ops.add(op);
          }
          requests.inc({ device, op, outcome: OUTCOMES.has(outcome) ? outcome : 'error' });
        },
        misbehaved(code) {
          misbehaviour.inc({ device, code: code === 'pull-early' ? code : 'other' });
        },
      };
    },
    start() {
      if (!processMetrics) {
        // process_resident_memory_bytes, process_cpu_seconds_total, nodejs_heap_size_used_bytes...
        collectDefaultMetrics({ register: registry });
        processMetrics = true;
      }
      loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
    },
    stop() {
      loop?.disable();
      loop = undefined;
    },
    async scrape() {
      refresh();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** A counter mirroring a total kept elsewhere (prom-client counters only go up, so reset, then add). */
function setCounter(counter: Counter, value: number): void {
  counter.reset();
  counter.inc(Math.max(0, value));
}
