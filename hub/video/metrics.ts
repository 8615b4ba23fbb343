import { Counter, Gauge, type Registry } from 'prom-client';

/** The relay's Prometheus metrics (on the hub's registry); the gauges read the live maps when scraped. */
export function createVideoMetrics(registry: Registry, counts: { streams(): number; viewers(): number; links(): number }) {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('rb_video_streams', 'Camera streams relayed now (one per camera and quality with at least one viewer, or lingering)', counts.streams);
  gauge('rb_video_viewers', 'Viewer WebSockets watching a stream now', counts.viewers);
  gauge('rb_video_relay_links', "Gateways' relay links connected to this node now", counts.links);
  return {
    bytes: new Counter({ name: 'rb_video_bytes_total', help: 'Video bytes: in = from the gateways, out = to the viewers', labelNames: ['direction'] as const, registers: [registry] }),
    refusals: new Counter({ name: 'rb_video_refusals_total', help: 'Views refused or ended with an error, by code', labelNames: ['code'] as const, registers: [registry] }),
    dropped: new Counter({
      name: 'rb_video_relay_frames_dropped_total',
      help: 'Frames from a relay link dropped: malformed, an unknown stream id, or a message the hub does not take',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    skipped: new Counter({ name: 'rb_video_segments_skipped_total', help: 'Media segments a slow viewer skipped (its socket buffer over video.maxViewerBufferBytes)', registers: [registry] }),
  };
}

export type VideoMetrics = ReturnType<typeof createVideoMetrics>;
