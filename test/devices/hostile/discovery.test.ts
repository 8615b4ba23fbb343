import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover } from '../../../devices/onvif-camera/discovery.js';
import { esc, parseXml, path, text } from '../../../devices/onvif-camera/soap.js';
import { LIMITS, measure } from './measure.js';

/**
 * WS-Discovery spoofing: UDP responders that answer every probe on 127.0.0.1. Only a ProbeMatches that
 * relates to our probe and points inside the configured subnets counts; everything else is ignored.
 */
function probeMatches(relatesTo: string | undefined, endpoint: string, xaddrs: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ' +
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">' +
    `<s:Header><a:MessageID>uuid:spoof</a:MessageID>${relatesTo === undefined ? '' : `<a:RelatesTo>${esc(relatesTo)}</a:RelatesTo>`}` +
    '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action></s:Header>' +
    `<s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${esc(endpoint)}</a:Address></a:EndpointReference>` +
    `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:XAddrs>${esc(xaddrs)}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>` +
    '</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>'
  );
}

/** A responder answering each probe with `answer(messageId)`. */
async function responder(answer: (messageId: string) => string): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const id = text(path(parseXml(msg.toString()), 'Envelope', 'Header', 'MessageID')) ?? '';
    socket.send(answer(id), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port };
}

const responders: Array<{ socket: Socket; port: number }> = [];
let genuine: number;
let spoofs: number[];

beforeAll(async () => {
  const add = async (answer: (id: string) => string): Promise<number> => {
    const r = await responder(answer);
    responders.push(r);
    return r.port;
  };
  genuine = await add((id) => probeMatches(id, 'urn:uuid:genuine', 'http://127.0.0.5/onvif/device_service'));
  spoofs = [
    // Wrong RelatesTo: an answer to somebody else's probe (or a blind spoof).
    await add(() => probeMatches('uuid:00000000-0000-4000-8000-000000000000', 'urn:uuid:wrong-relates', 'http://127.0.0.6/onvif/device_service')),
    // No RelatesTo at all.
    await add(() => probeMatches(undefined, 'urn:uuid:no-relates', 'http://127.0.0.7/onvif/device_service')),
    // Our MessageID, but pointing outside the configured subnet (somewhere the gateway should never call).
    await add((id) => probeMatches(id, 'urn:uuid:outside', 'http://10.9.9.9/onvif/device_service http://169.254.169.254/latest/meta-data')),
    // Our MessageID, host names instead of addresses, credentials, non-HTTP schemes.
    await add((id) => probeMatches(id, 'urn:uuid:tricks', 'http://evil.example/onvif http://u:p@127.0.0.8/onvif file:///etc/passwd ftp://127.0.0.9/')),
    // A DOCTYPE (entity expansion attempt) with our MessageID and a good address: refused whole.
    await add((id) => probeMatches(id, 'urn:uuid:doctype', 'http://127.0.0.10/onvif/device_service').replace('<s:Envelope', '<!DOCTYPE e [<!ENTITY x "x">]><s:Envelope')),
  ];
});

afterAll(() => {
  for (const r of responders) r.socket.close();
});

describe('WS-Discovery with spoofed answers', () => {
  it('keeps only the answer to our probe inside the configured subnet', async () => {
    const targets = [genuine, ...spoofs].map((port) => ({ address: '127.0.0.1', port }));
    const { value, cost } = await measure('ws-discovery: 1 genuine + 5 spoofed answers', () => discover({ subnets: ['127.0.0.0/24'], timeoutMs: 300, targets }));
    expect(value?.map((c) => c.endpoint)).toEqual(['urn:uuid:genuine']);
    expect(value?.[0]?.xaddrs).toEqual(['http://127.0.0.5/onvif/device_service']);
    expect(cost.rssGrowthMiB).toBeLessThan(LIMITS.rssMiB);
    expect(cost.maxBlockMs).toBeLessThan(LIMITS.blockMs);
    console.log(JSON.stringify(cost));
  });

  it('spoofs alone find nothing', async () => {
    const targets = spoofs.map((port) => ({ address: '127.0.0.1', port }));
    expect(await discover({ subnets: ['127.0.0.0/24'], timeoutMs: 200, targets })).toEqual([]);
  });
});
