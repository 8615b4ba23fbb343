import { describe, expect, it } from 'vitest';
import { listCameras } from '../../../hub/video/cameras.js';
import { RelayHelloSchema } from '../../../hub/video/relay.js';
import type { RelayLink, Streams } from '../../../hub/video/streams.js';
import type { StateService } from '../../../hub/state/index.js';
import type { RelayHello } from '../../../protocol/video.js';

/**
 * The relay's `hello` as the hub accepts it (docs/video.md): the optional PTZ presets are bounded like
 * the rest (at most 64, tokens 1–64 printable ASCII, names 1–64 characters) or the hello is dropped;
 * and the cameras view (`GET /api/v1/video/cameras`) gives each camera's presets, none without PTZ.
 */
const hello = (presets?: unknown): unknown => ({ t: 'hello', version: '1.0.0', cameras: [{ device: 'cam-1', ptz: true, profiles: [{ quality: 'main' }], ...(presets === undefined ? {} : { presets }) }] });
const ok = (m: unknown): boolean => RelayHelloSchema.safeParse(m).success;

describe('relay hello: presets', () => {
  it('accepts no presets (an older gateway), an empty list, 64 presets and 64-character names', () => {
    expect(ok(hello())).toBe(true);
    expect(ok(hello([]))).toBe(true);
    expect(ok(hello(Array.from({ length: 64 }, (_, i) => ({ token: `t${i}`, name: '停'.repeat(64) }))))).toBe(true);
    expect(ok(hello([{ token: 'x'.repeat(64), name: 'Car park' }]))).toBe(true);
  });

  it('drops a hello beyond the bounds', () => {
    for (const bad of [
      Array.from({ length: 65 }, (_, i) => ({ token: `t${i}`, name: 'n' })),
      [{ token: '1', name: '停'.repeat(65) }],
      [{ token: '1', name: '' }],
      [{ token: '', name: 'Gate' }],
      [{ token: 'a b', name: 'Gate' }],
      [{ token: 'x'.repeat(65), name: 'Gate' }],
      [{ token: '1' }],
      [{ token: 1, name: 'Gate' }],
      'Gate',
    ]) {
      expect(ok(hello(bad)), JSON.stringify(bad).slice(0, 80)).toBe(false);
    }
  });
});

describe('cameras view: presets', () => {
  const view = (cameras: RelayHello['cameras'], devices: Array<{ device: string; kind: string }> = []) => {
    const link = { estate: 'e', gateway: 'gw', hello: { t: 'hello', version: '1', cameras } } as RelayLink;
    const streams: Pick<Streams, 'link' | 'linksOf'> = { link: (e, g) => (e === 'e' && g === 'gw' ? link : undefined), linksOf: (e) => (e === 'e' ? [link] : []) };
    const es = { devices: new Map(devices.map((d) => [d.device, { ...d, gateway: 'gw', name: d.device, online: true }])) };
    const state = { live: { estates: new Map([['e', es]]) } } as unknown as Pick<StateService, 'live'>;
    return listCameras(state, streams, 'e');
  };
  const presets = [{ token: '1', name: 'Gate' }, { token: '2', name: 'Car park' }];

  it("gives a PTZ camera's presets, whether the gateway's status or only the hello lists it", async () => {
    const cams = await view(
      [
        { device: 'cam-a', ptz: true, profiles: [{ quality: 'main' }], presets },
        { device: 'cam-b', ptz: true, profiles: [{ quality: 'main' }], presets },
      ],
      [{ device: 'cam-a', kind: 'onvif-camera' }],
    );
    expect(cams.map((c) => [c.device, c.presets])).toEqual([
      ['cam-a', presets],
      ['cam-b', presets],
    ]);
  });

  it('gives none to a camera without PTZ (even if a hello lists some), without presets, or not in any hello', async () => {
    const cams = await view(
      [
        { device: 'cam-fixed', ptz: false, profiles: [{ quality: 'main' }], presets },
        { device: 'cam-old', ptz: true, profiles: [{ quality: 'main' }] },
      ],
      [{ device: 'cam-status-only', kind: 'onvif-camera' }],
    );
    expect(cams.map((c) => [c.device, c.ptz, c.presets])).toEqual([
      ['cam-fixed', false, []],
      ['cam-old', true, []],
      ['cam-status-only', false, []],
    ]);
  });
});
