import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { WS_DISCOVERY_MULTICAST } from './discovery.js';
import { esc, NS, parseXml, path, text } from './soap.js';

/**
 * The device side of WS-Discovery (WS-Discovery 2005/04 §5.3 Probe / ProbeMatch; ONVIF Core Spec §7
 * "Device discovery"): listen on UDP, answer a Probe whose Types is empty or names
 * `tdn:NetworkVideoTransmitter` with a unicast ProbeMatches to the sender, carrying our endpoint
 * reference, Types, Scopes, XAddrs and the probe's MessageID in `wsa:RelatesTo`.
 * Real devices join 239.255.255.250:3702 (`multicast: true`: bind the port on every address and join
 * the group on the interface of `host`); without it the simulator listens on a configurable
 * host/port only, so tests run on 127.0.0.1 without multicast.
 */
export interface DiscoveryResponder {
  port(): number;
  close(): Promise<void>;
}

const MAX_DATAGRAM = 16 * 1024;
const APP_MAX_DELAY_MS = 500;

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
  /**
   * Join 239.255.255.250 on the interface of `host` and listen on `port` (use 3702) of every address,
   * as a real camera does. The socket shares the port (SO_REUSEADDR) with other responders on the
   * host, and each answer waits a random 0..500 ms (WS-Discovery 2005/04 §5.3: APP_MAX_DELAY before
   * a ProbeMatch to a multicast Probe, so a subnet of cameras does not answer all at once).
   */
  multicast?: boolean;
}): Promise<DiscoveryResponder> {
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: o.multicast === true });
  const pending = new Set<NodeJS.Timeout>();
  let closed = false;
  const answer = (xml: string, port: number, address: string): void => {
    if (!o.multicast) return void socket.send(xml, port, address);
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (!closed) socket.send(xml, port, address);
    }, Math.floor(Math.random() * APP_MAX_DELAY_MS));
    pending.add(timer);
  };
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
    answer(probeMatches({ relatesTo: messageId, endpoint: o.endpoint, xaddrs: o.xaddrs(), scopes: o.scopes }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    // A socket bound to one unicast address does not receive datagrams sent to the group: bind any.
    socket.bind(o.port, o.multicast ? undefined : o.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined); // a failed answer (ICMP unreachable) must not stop the device
  if (o.multicast) {
    try {
      socket.addMembership(WS_DISCOVERY_MULTICAST.address, o.host === '0.0.0.0' ? undefined : o.host);
    } catch (err) {
      socket.close();
      throw new Error(`cannot join ${WS_DISCOVERY_MULTICAST.address} on ${o.host}: ${(err as Error).message} (no multicast route or interface?)`);
    }
  }
  return {
    port: () => socket.address().port,
    close: () => {
      closed = true;
      for (const t of pending) clearTimeout(t);
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
