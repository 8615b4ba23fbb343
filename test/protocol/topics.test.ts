import { describe, expect, it } from 'vitest';
import { parseTopic, topics, type ParsedTopic } from '../../protocol/index.js';

const E = 'maple-court';
const G = 'gw-1';
const D = 'gate-east';
const ID64 = 'a'.repeat(63) + '9';

/** Ids a topic segment must never carry, with why. */
const BAD_IDS: Array<[string, string]> = [
  ['slash', 'gate/1'],
  ['plus', 'gate+1'],
  ['hash', 'gate#1'],
  ['NUL', 'gate\u00001'],
  ['upper case', 'Gate-1'],
  ['65 characters', 'a'.repeat(65)],
  ['empty', ''],
  ['space', 'gate 1'],
  ['underscore', 'gate_1'],
  ['non-ASCII', 'gäte'],
];

describe('topic builders', () => {
  it('build the v1 layout', () => {
    expect(topics.status(E, G)).toBe('rb/v1/maple-court/gw-1/status');
    expect(topics.event(E, G, D)).toBe('rb/v1/maple-court/gw-1/gate-east/event');
    expect(topics.state(E, G, D)).toBe('rb/v1/maple-court/gw-1/gate-east/state');
    expect(topics.cmd(E, G, D)).toBe('rb/v1/maple-court/gw-1/gate-east/cmd');
    expect(topics.cmdResult(E, G, D)).toBe('rb/v1/maple-court/gw-1/gate-east/cmd/result');
    expect(topics.gatewayPrefix(E, G)).toBe('rb/v1/maple-court/gw-1/');
    expect(topics.gatewayCommands(E, G)).toBe('rb/v1/maple-court/gw-1/+/cmd');
  });

  it('round-trip through parseTopic for every kind', () => {
    const cases: Array<[string, ParsedTopic]> = [
      [topics.status(E, G), { kind: 'status', estate: E, gateway: G }],
      [topics.event(E, G, D), { kind: 'event', estate: E, gateway: G, device: D }],
      [topics.state(E, G, D), { kind: 'state', estate: E, gateway: G, device: D }],
      [topics.cmd(E, G, D), { kind: 'cmd', estate: E, gateway: G, device: D }],
      [topics.cmdResult(E, G, D), { kind: 'cmd/result', estate: E, gateway: G, device: D }],
      // boundary ids: 1 and 64 characters; a device may be called like a topic kind
      [topics.event('a', '0', ID64), { kind: 'event', estate: 'a', gateway: '0', device: ID64 }],
      [topics.event(E, G, 'status'), { kind: 'event', estate: E, gateway: G, device: 'status' }],
      [topics.cmdResult(E, G, 'cmd'), { kind: 'cmd/result', estate: E, gateway: G, device: 'cmd' }],
    ];
    for (const [topic, parsed] of cases) expect(parseTopic(topic), topic).toEqual(parsed);
  });

  for (const [why, bad] of BAD_IDS) {
    it(`throw on an id with ${why}`, () => {
      expect(() => topics.status(bad, G)).toThrow(TypeError);
      expect(() => topics.status(E, bad)).toThrow(/invalid gateway id/);
      expect(() => topics.event(E, G, bad)).toThrow(/invalid device id/);
      expect(() => topics.event(bad, G, D)).toThrow(/invalid estate id/);
      expect(() => topics.state(E, G, bad)).toThrow(TypeError);
      expect(() => topics.cmd(E, G, bad)).toThrow(TypeError);
      expect(() => topics.cmdResult(E, G, bad)).toThrow(TypeError);
      expect(() => topics.gatewayPrefix(E, bad)).toThrow(TypeError);
      expect(() => topics.gatewayCommands(bad, G)).toThrow(TypeError);
    });
  }
});

describe('parseTopic', () => {
  for (const [why, bad] of BAD_IDS) {
    it(`rejects an id with ${why} in every position`, () => {
      expect(parseTopic(`rb/v1/${bad}/${G}/${D}/event`)).toBeNull();
      expect(parseTopic(`rb/v1/${E}/${bad}/${D}/event`)).toBeNull();
      expect(parseTopic(`rb/v1/${E}/${G}/${bad}/event`)).toBeNull();
      expect(parseTopic(`rb/v1/${E}/${G}/${bad}/cmd/result`)).toBeNull();
      expect(parseTopic(`rb/v1/${bad}/${G}/status`)).toBeNull();
      expect(parseTopic(`rb/v1/${E}/${bad}/status`)).toBeNull();
    });
  }

  it('rejects the wrong root or version', () => {
    for (const topic of [
      `xb/v1/${E}/${G}/${D}/event`,
      `RB/v1/${E}/${G}/${D}/event`,
      `rb/v2/${E}/${G}/${D}/event`,
      `rb/V1/${E}/${G}/${D}/event`,
      `rb/${E}/${G}/${D}/event`,
      `/rb/v1/${E}/${G}/${D}/event`,
      `$SYS/v1/${E}/${G}/${D}/event`,
    ]) {
      expect(parseTopic(topic), topic).toBeNull();
    }
  });

  it('rejects extra, missing and unknown levels', () => {
    for (const topic of [
      `rb/v1/${E}/${G}/${D}/event/x`,
      `rb/v1/${E}/${G}/${D}/event/`,
      `rb/v1/${E}/${G}/status/x`,
      `rb/v1/${E}/${G}/status/`,
      `rb/v1/${E}/${G}/${D}/cmd/result/x`,
      `rb/v1/${E}/${G}/${D}/cmd/results`,
      `rb/v1/${E}/${G}/${D}/state/result`,
      `rb/v1/${E}/${G}/${D}/event/result`,
      `rb/v1/${E}/${G}/${D}/events`,
      `rb/v1/${E}/${G}/${D}`,
      `rb/v1/${E}/${G}`,
      `rb/v1/${E}`,
      'rb/v1',
      '',
      `rb/v1/${E}/${G}//event`,
      `rb/v1/${E}/${G}/${D}/x/event`,
      `rb/v1/${E}/${G}/+/cmd`,
      `rb/v1/${E}/${G}/#`,
    ]) {
      expect(parseTopic(topic), topic).toBeNull();
    }
  });

  it('rejects a topic longer than 512 characters and non-strings without throwing', () => {
    expect(parseTopic(`rb/v1/${E}/${G}/${D}/event/${'x'.repeat(600)}`)).toBeNull();
    expect(parseTopic(undefined as unknown as string)).toBeNull();
    expect(parseTopic(42 as unknown as string)).toBeNull();
  });
});
