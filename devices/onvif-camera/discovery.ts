import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { asList, NS, parseXml, path, text } from './soap.js';

/**
 * Find ONVIF cameras with WS-Discovery (WS-Discovery 2005/04 §5.2 Probe, §5.3 ProbeMatches; ONVIF
 * Core Spec §7.3): send one Probe for `dn:NetworkVideoTransmitter` over UDP (multicast
 * 239.255.255.250:3702 by default) and collect ProbeMatches for `timeoutMs`.
 *
 * Answers are untrusted: only a ProbeMatches whose `wsa:RelatesTo` is exactly our MessageID counts,
 * and only XAddrs that are http(s) URLs whose host is an IPv4 address inside one of `subnets` are
 * kept (a camera on the estate LAN, not something that points us elsewhere).
 */
export interface DiscoverOptions {
  /** IPv4 CIDR blocks the cameras live in, e.g. ["192.168.1.0/24"]. */
  subnets: readonly string[];
  timeoutMs: number;
  /** Where to send the probe. Default: the WS-Discovery multicast group. */
  targets?: ReadonlyArray<{ address: string; port: number }>;
  /** Local address to bind (default any). */
  bind?: string;
  /**
   * Local IPv4 addresses to send a multicast probe out of, one copy each (IP_MULTICAST_IF). Default:
   * the system's choice, the route to 239.255.255.250, which on a gateway with an uplink and a camera
   * LAN is often the uplink.
   */
  interfaces?: readonly string[];
  /** Told of an answer to our probe whose XAddrs all lie outside `subnets` (so it is not returned). */
  outside?: (camera: DiscoveredCamera) => void;
}

export interface DiscoveredCamera {
  /** wsa:EndpointReference/Address: the device's stable id (urn:uuid:...). */
  endpoint: string;
  /** Device service URLs inside the subnets. */
  xaddrs: string[];
  scopes: string[];
  /** Address the answer came from. */
  from: string;
}

/** WS-Discovery's IPv4 multicast group and port (WS-Discovery 2005/04, ad hoc mode; ONVIF Core Spec §7.3). */
export const WS_DISCOVERY_MULTICAST = { address: '239.255.255.250', port: 3702 } as const;
const MAX_DATAGRAM = 16 * 1024;

/** "192.168.1.0/24" → a test for IPv4 addresses. Throws on a malformed block. */
export function subnetMatcher(cidr: string): (ip: string) => boolean {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || !isIPv4(m[1] as string) || Number(m[2]) > 32) throw new RangeError(`not an IPv4 CIDR block: ${JSON.stringify(cidr)}`);
  const toInt = (ip: string): number => ip.split('.').reduce((n, b) => (n << 8) + Number(b), 0) >>> 0;
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const net = (toInt(m[1] as string) & mask) >>> 0;
  return (ip) => isIPv4(ip) && ((toInt(ip) & mask) >>> 0) === net;
}

export function probeMessage(messageId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa04}" xmlns:d="${NS.wsdd}" xmlns:dn="${NS.tdn}">` +
    `<s:Header><a:MessageID>${messageId}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
    `<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>` +
    `<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`
  );
}

export async function discover(o: DiscoverOptions): Promise<DiscoveredCamera[]> {
  const inSubnets = o.subnets.map(subnetMatcher);
  const allowed = (host: string): boolean => inSubnets.some((m) => m(host));
  const messageId = `uuid:${randomUUID()}`;
  const found = new Map<string, DiscoveredCamera>();
  const socket = createSocket({ type: 'udp4' });
  socket.on('message', (msg, rinfo) => {
    if (msg.length > MAX_DATAGRAM) return;
    let doc;
    try {
      doc = parseXml(msg.toString('utf8'));
    } catch {
      return;
    }
    if (text(path(doc, 'Envelope', 'Header', 'RelatesTo')) !== messageId) return; // not an answer to our probe
    for (const match of asList(path(doc, 'Envelope', 'Body', 'ProbeMatches', 'ProbeMatch')).slice(0, 16)) {
      const endpoint = text(path(match, 'EndpointReference', 'Address'));
      // Kept normalised (href): one spelling per URL, and what the CLI prints is percent-encoded.
      const urls = (text(path(match, 'XAddrs')) ?? '').split(/\s+/).flatMap((x) => {
        if (!URL.canParse(x)) return [];
        const u = new URL(x);
        return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username ? [u.href] : [];
      }).slice(0, 8);
      const xaddrs = urls.filter((x) => allowed(new URL(x).hostname));
      if (!endpoint) continue;
      const scopes = (text(path(match, 'Scopes')) ?? '').split(/\s+/).filter(Boolean).slice(0, 32);
      if (xaddrs.length === 0) {
        if (urls.length > 0 && !found.has(endpoint)) o.outside?.({ endpoint, xaddrs: urls, scopes, from: rinfo.address });
        continue;
      }
      const prev = found.get(endpoint);
      found.set(endpoint, { endpoint, xaddrs: [...new Set([...(prev?.xaddrs ?? []), ...xaddrs])], scopes, from: rinfo.address });
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, o.bind, () => (socket.off('error', reject), resolve()));
  });
  socket.on('error', () => undefined); // late ICMP errors from unreachable targets: nothing to do
  try {
    const probe = Buffer.from(probeMessage(messageId));
    const sent = (t: { address: string; port: number }): Promise<void> =>
      new Promise((resolve) => socket.send(probe, t.port, t.address, () => resolve()));
    for (const t of o.targets ?? [WS_DISCOVERY_MULTICAST]) {
      if (t.address !== WS_DISCOVERY_MULTICAST.address || !o.interfaces?.length) {
        await sent(t);
        continue;
      }
      // One copy out of each interface; the option is read when the datagram goes out, so each send
      // is awaited before the next interface is set.
      for (const local of o.interfaces) {
        try {
          socket.setMulticastInterface(local);
        } catch {
          continue; // the address went away since the caller listed it
        }
        await sent(t);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, o.timeoutMs));
  } finally {
    socket.close();
  }
  return [...found.values()];
}
