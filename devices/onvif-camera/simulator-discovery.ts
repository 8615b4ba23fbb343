import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { esc, NS, parseXml, path, text } from './soap.js';

/**
 * The device side of WS-Discovery (WS-Discovery 2005/04 §5.3 Probe / ProbeMatch; ONVIF Core Spec §7
 * "Device discovery"): listen on UDP, answer a Probe whose Types is empty or names
 * `tdn:NetworkVideoTransmitter` with a unicast ProbeMatches to the sender, carrying our endpoint
 * reference, Types, Scopes, XAddrs and the probe's MessageID in `wsa:RelatesTo`.
 * Real devices join 239.255.255.250:3702; the simulator listens on a configurable host/port instead,
 * so tests run on 127.0.0.1 without multicast.
 */
export interface DiscoveryResponder {
  port(): number;
  close(): Promise<void>;
}

const MAX_DATAGRAM = 16 * 1024;

export function probeMatches(o: { relatesTo: string; endpoint: string; xaddrs: readonly string[]; scopes: readonly string[] }): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa04}" xmlns:d="${NS.wsdd}" xmlns:dn="${NS.tdn}">` +
    `<s:Header><a:MessageID>uuid:${randomUUID()}</a:MessageID><a:RelatesTo>${esc(o.relatesTo)}</a:RelatesTo>` +
    `<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>` +
    `<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action></s:Header>` +
    `<s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${esc(o.endpoint)}</a:Address></a:EndpointReference>` +
    `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>${o.scopes.map(esc).join(' ')}</d:Scopes>` +
    `<d:XAddrs>${o.xaddrs.map(esc).join(' ')}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>` +
    `</s:Body></s:Envelope>`
  );
}

export async function startDiscoveryResponder(o: {
  host: string;
  port: number;
  endpoint: string;
  xaddrs: () => string[];
  scopes: readonly string[];
  /** False while the device is "unplugged": probes go unanswered. */
  answering: () => boolean;
}): Promise<DiscoveryResponder> {
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: false });
  socket.on('message', (msg, rinfo) => {
    if (!o.answering() || msg.length > MAX_DATAGRAM) return;
    let doc;
    try {
      doc = parseXml(msg.toString('utf8'));
    } catch {
      return; // not a SOAP probe: WS-Discovery receivers drop what they cannot parse
    }
    const probe = path(doc, 'Envelope', 'Body', 'Probe');
    const messageId = text(path(doc, 'Envelope', 'Header', 'MessageID'));
    if (probe === undefined || !messageId) return;
    const types = text(path(probe, 'Types')); // Scopes are not evaluated: every probe scope matches
    if (types && !types.split(/\s+/).some((t) => t.endsWith(':NetworkVideoTransmitter') || t === 'NetworkVideoTransmitter')) return;
    const answer = probeMatches({ relatesTo: messageId, endpoint: o.endpoint, xaddrs: o.xaddrs(), scopes: o.scopes });
    socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(o.port, o.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    port: () => socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
