import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { encodeRelayFrame, FRAME_INIT, FRAME_MEDIA, type RelayToGateway, type ViewerMessage } from '../../../protocol/video.js';
import { createVideoMetrics } from '../../../hub/video/metrics.js';
import { createStreams, type RelayLink, type ViewerSink } from '../../../hub/video/streams.js';

/** The fan-out alone (hub/video/streams.ts): a slow viewer skips media segments, the others never wait. */
function setup() {
  const registry = new Registry();
  const views: Array<{ durationMs: number; bytes: number }> = [];
  const streams: ReturnType<typeof createStreams> = createStreams({
    limits: { lingerMs: 60_000, openTimeoutMs: 60_000, maxViewersPerStream: 8, maxStreamsPerEstate: 4, maxBytesPerSecondPerEstate: 1e9, maxViewerBufferBytes: 1000 },
    metrics: createVideoMetrics(registry, { streams: () => streams.streams(), viewers: () => streams.viewers(), links: () => streams.links() }),
    log: pino({ level: 'silent' }),
    onViewEnd: (v) => views.push(v),
  });
  const sent: RelayToGateway[] = [];
  const link: RelayLink = { estate: 'e', gateway: 'g', send: (m) => void sent.push(m), close: () => undefined };
  streams.linkUp(link);
  const sink = () => {
    const s = { json: [] as ViewerMessage[], bin: [] as Buffer[], backlog: 0, closed: false };
    const v: ViewerSink = {
      actor: 'user:u',
      sendJson: (m) => void s.json.push(m),
      sendBinary: (b) => void s.bin.push(Buffer.from(b)),
      buffered: () => s.backlog,
      close: () => void (s.closed = true),
    };
    return { s, v };
  };
  return { streams, link, sent, sink, views, registry };
}

const media = (sid: string, n: number) => Buffer.from(encodeRelayFrame(FRAME_MEDIA, sid, Buffer.from(`moof${n}`)));

describe('video streams fan-out', () => {
  it('skips media for a viewer whose socket is backed up, keeps the others going, and resumes it once drained', () => {
    const { streams, link, sent, sink, views } = setup();
    const fast = sink();
    const slow = sink();
    const targets = { estate: 'e', gateway: 'g', device: 'cam', quality: 'main' as const };
    const a = streams.watch(fast.v, targets);
    const b = streams.watch(slow.v, targets);
    expect('leave' in a && 'leave' in b).toBe(true);
    expect(sent).toHaveLength(1);
    const sid = (sent[0] as { sid: string }).sid;
    streams.opened(link, { sid, mime: 'video/mp4; codecs="avc1.42c01e"' });
    streams.frame(link, Buffer.from(encodeRelayFrame(FRAME_INIT, sid, Buffer.from('ftypmoov'))));
    streams.frame(link, media(sid, 1));
    slow.s.backlog = 5000;
    streams.frame(link, media(sid, 2));
    streams.frame(link, media(sid, 3));
    slow.s.backlog = 0;
    streams.frame(link, media(sid, 4));
    expect(fast.s.bin.map(String)).toEqual(['ftypmoov', 'moof1', 'moof2', 'moof3', 'moof4']);
    expect(slow.s.bin.map(String)).toEqual(['ftypmoov', 'moof1', 'moof4']);
    expect(slow.s.json).toEqual([{ t: 'ready', mime: 'video/mp4; codecs="avc1.42c01e"' }]);

    // a late viewer gets ready and the kept init, then media from the next segment on
    const late = sink();
    streams.watch(late.v, targets);
    streams.frame(link, media(sid, 5));
    expect(late.s.bin.map(String)).toEqual(['ftypmoov', 'moof5']);

    // frames of an unknown stream or malformed ones are dropped
    streams.frame(link, media('other', 6));
    streams.frame(link, Buffer.from([9, 9, 9]));
    expect(fast.s.bin).toHaveLength(6);

    if ('leave' in b) b.leave();
    expect(views).toHaveLength(1);
    expect(views[0]!.bytes).toBe('ftypmoov'.length + 3 * 'moof1'.length); // moof1, moof4, moof5
  });
});
