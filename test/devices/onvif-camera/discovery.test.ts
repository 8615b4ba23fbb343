import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover, subnetMatcher } from '../../../devices/onvif-camera/discovery.js';
import { probeMatches } from '../../../devices/onvif-camera/simulator-discovery.js';
import { parseXml, path, text } from '../../../devices/onvif-camera/soap.js';
import type { OnvifSimulator } from '../../../devices/onvif-camera/simulator.js';
import { startSim } from './harness.js';

/** A UDP responder that answers every probe with a ProbeMatches we build: a spoofer. */
async function spoofer(answer: (messageId: string) => string): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const id = text(path(parseXml(msg.toString()), 'Envelope', 'Header', 'MessageID')) ?? '';
    socket.send(answer(id), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port };
}

describe('WS-Discovery', () => {
  let sim: OnvifSimulator;
  let wrongRelates: { socket: Socket; port: number };
  let outside: { socket: Socket; port: number };
  beforeAll(async () => {
    sim = await startSim();
    const scopes = ['onvif://www.onvif.org/type/video_encoder'];
    wrongRelates = await spoofer(() =>
      probeMatches({ relatesTo: 'uuid:00000000-0000-4000-8000-000000000000', endpoint: 'urn:uuid:spoof-1', xaddrs: ['http://127.0.0.9/onvif/device_service'], scopes }),
    );
    outside = await spoofer((id) =>
      probeMatches({ relatesTo: id, endpoint: 'urn:uuid:spoof-2', xaddrs: ['http://10.9.9.9/onvif/device_service'], scopes }),
    );
  });
  afterAll(async () => {
    wrongRelates?.socket.close();
    outside?.socket.close();
    await sim?.stop();
  });

  it('finds the simulator and ignores a wrong RelatesTo and XAddrs outside the subnets', async () => {
    const targets = [sim.discoveryPort(), wrongRelates.port, outside.port].map((port) => ({ address: '127.0.0.1', port }));
    const found = await discover({ subnets: ['127.0.0.0/8'], timeoutMs: 300, targets });
    expect(found).toHaveLength(1);
    expect(found[0]?.xaddrs).toEqual([sim.deviceUrl()]);
    expect(found[0]?.endpoint).toMatch(/^urn:uuid:/);
    expect(found[0]?.from).toBe('127.0.0.1');
    // The same camera is outside other subnets.
    expect(await discover({ subnets: ['192.168.0.0/16'], timeoutMs: 200, targets })).toEqual([]);
  });

  it('tells the caller of answers whose XAddrs are all outside the subnets', async () => {
    const ignored: string[] = [];
    const targets = [sim.discoveryPort(), outside.port].map((port) => ({ address: '127.0.0.1', port }));
    const found = await discover({ subnets: ['127.0.0.0/8'], timeoutMs: 300, targets, outside: (c) => ignored.push(...c.xaddrs) });
    expect(found).toHaveLength(1);
    expect(ignored).toEqual(['http://10.9.9.9/onvif/device_service']);
  });

  it('an offline device does not answer', async () => {
    sim.goOffline();
    try {
      expect(await discover({ subnets: ['127.0.0.0/8'], timeoutMs: 200, targets: [{ address: '127.0.0.1', port: sim.discoveryPort() }] })).toEqual([]);
    } finally {
      sim.goOnline();
    }
  });

  it('subnetMatcher', () => {
    const m = subnetMatcher('192.168.1.0/24');
    expect([m('192.168.1.7'), m('192.168.2.7'), m('not-an-ip'), subnetMatcher('0.0.0.0/0')('8.8.8.8')]).toEqual([true, false, false, true]);
    expect(() => subnetMatcher('192.168.1.0')).toThrow(/CIDR/);
  });
});
