import { describe, expect, it } from 'vitest';
import { parseXml, path, type Xml } from '../../../devices/onvif-camera/soap.js';
import { createStreamLister, readPresets, type MediaProfile } from '../../../devices/onvif-camera/streams.js';
import { PTZ_PRESETS_MAX } from '../../../protocol/video.js';

/**
 * PTZ presets for the screens (issue 20, docs/video.md): GetPresets read with bounds (a camera's answer
 * is not trusted), and carried by streams() on PTZ sources only; a GetPresets failure lists none and
 * never fails streams().
 */
const answer = (items: string): Xml =>
  path(parseXml(`<tptz:GetPresetsResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">${items}</tptz:GetPresetsResponse>`), 'GetPresetsResponse') as Xml;
const preset = (token: string, name?: string): string => `<tptz:Preset token="${token}">${name === undefined ? '' : `<tt:Name>${name}</tt:Name>`}</tptz:Preset>`;

describe('readPresets', () => {
  it('reads token and name, in the camera’s order', () => {
    expect(readPresets(answer(preset('1', 'Gate') + preset('2', 'Car park')))).toEqual([
      { token: '1', name: 'Gate' },
      { token: '2', name: 'Car park' },
    ]);
    expect(readPresets(answer(''))).toEqual([]);
  });

  it('bounds a hostile answer: bad and repeated tokens dropped, names cleaned and cut, at most 64', () => {
    const many = Array.from({ length: 100 }, (_, i) => preset(`p${i}`, `n${i}`)).join('');
    const got = readPresets(answer(preset('a b', 'space in token') + preset('x'.repeat(65), 'long token') + preset('1', 'A&amp;B\u0007\nline') + preset('1', 'again') + preset('2') + preset('3', '摄'.repeat(80)) + many));
    expect(got.slice(0, 3)).toEqual([
      { token: '1', name: 'A&B  line' },
      // No name: the token stands for it.
      { token: '2', name: '2' },
      { token: '3', name: '摄'.repeat(64) },
    ]);
    expect(got).toHaveLength(PTZ_PRESETS_MAX);
    expect(got.at(-1)).toEqual({ token: 'p60', name: 'n60' });
  });
});

describe('streams() with presets', () => {
  const profiles: MediaProfile[] = [
    { token: 'P1', encoding: 'H264', width: 1280, height: 720, ptz: true },
    { token: 'P2', encoding: 'H264', width: 640, height: 360, ptz: true },
  ];
  const lister = (o: { ptz?: boolean; hasPtz?: boolean; presets: () => Promise<Array<{ token: string; name: string }>> }) => {
    let asked = 0;
    const list = createStreamLister({
      profiles: async () => profiles.map((p) => ({ ...p, ptz: o.ptz ?? true })),
      streamUri: async (token) => `rtsp://cam/${token}`,
      hasPtz: () => o.hasPtz ?? true,
      presets: () => (asked++, o.presets()),
      username: 'u',
      password: 'p',
    });
    return { list, asked: () => asked };
  };
  const signal = () => AbortSignal.timeout(2_000);

  it('carries the presets on PTZ sources, asked once per cache period; a caller cannot change the cache', async () => {
    const l = lister({ presets: async () => [{ token: '2', name: 'Car park' }] });
    const first = await l.list(signal());
    expect(first.map((s) => s.presets)).toEqual([[{ token: '2', name: 'Car park' }], [{ token: '2', name: 'Car park' }]]);
    first[0]!.presets![0]!.name = 'changed';
    expect((await l.list(signal()))[0]!.presets).toEqual([{ token: '2', name: 'Car park' }]);
    expect(l.asked()).toBe(1);
  });

  it('a GetPresets failure lists no presets and streams() still answers', async () => {
    const l = lister({ presets: async () => Promise.reject(new Error('GetPresets: SOAP fault')) });
    const got = await l.list(signal());
    expect(got.map((s) => [s.quality, s.ptz, s.presets])).toEqual([
      ['main', true, undefined],
      ['sub', true, undefined],
    ]);
  });

  it('a camera without PTZ (profile or service) is not asked for presets', async () => {
    for (const o of [{ ptz: false }, { hasPtz: false }]) {
      const l = lister({ ...o, presets: async () => [{ token: '1', name: 'Gate' }] });
      expect((await l.list(signal())).map((s) => [s.ptz, s.presets])).toEqual([
        [false, undefined],
        [false, undefined],
      ]);
      expect(l.asked()).toBe(0);
    }
  });
});
