import type { Socket } from 'node:net';

/**
 * PROXY protocol version 2 (HAProxy's `send-proxy-v2`), receiver side, strict: the spec is
 * haproxy's doc/proxy-protocol.txt, section 2.2 ("Binary header format (version 2)"). A balancer in
 * TCP mode opens its own connection to the hub, so without this header every gateway would come
 * from the balancer's address and one per-IP connect limit would cover them all.
 *
 *   12 bytes  signature \r\n\r\n\0\r\nQUIT\n
 *    1 byte   version (high nibble, must be 2) | command (low nibble: 0 LOCAL, 1 PROXY)
 *    1 byte   address family (high: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) | transport (low: 0 UNSPEC, 1 STREAM, 2 DGRAM)
 *    2 bytes  length of what follows, network order: addresses, then TLVs (skipped here)
 *   INET: src 4, dst 4, src port 2, dst port 2 (12 bytes); INET6: 16, 16, 2, 2 (36 bytes)
 *
 * Only version 2 is taken (not the text v1): the option says which the balancer sends, and
 * anything else on a listener that expects it is refused, as the spec asks ("the receiver must
 * not try to guess"). LOCAL (the balancer's own health check) keeps the connection's real address.
 */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const HEADER_BYTES = 16;
/** Addresses plus TLVs: haproxy sends a few dozen bytes; the field allows 64 KiB, which no client should make us hold. */
export const MAX_PROXY_V2_LENGTH = 4096;

export type ProxyHeader =
  /** PROXY over TCP: the client's address as the balancer saw it. */
  | { command: 'proxy'; source: { address: string; port: number }; consumed: number }
  /** LOCAL, or PROXY with a family/transport we do not relay (UNSPEC, UNIX, UDP): use the socket's own address. */
  | { command: 'local'; consumed: number };

export type ProxyParse = { state: 'more' } | { state: 'error'; reason: string } | ({ state: 'done' } & ProxyHeader);

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  // IPv4-mapped (::ffff:a.b.c.d), as node reports such peers.
  if (/^0:0:0:0:0:ffff:/.test(text)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  return text;
}

/** Parse the header at the start of `buf` (all bytes received so far). Pure: no I/O. */
export function parseProxyV2(buf: Buffer): ProxyParse {
  const sig = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  if (!buf.subarray(0, sig).equals(PROXY_V2_SIGNATURE.subarray(0, sig))) return { state: 'error', reason: 'no PROXY protocol v2 signature' };
  if (buf.length < HEADER_BYTES) return { state: 'more' };
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2) return { state: 'error', reason: `PROXY protocol version ${version}, not 2` };
  if (command > 1) return { state: 'error', reason: `unknown PROXY command ${command}` };
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  if (family > 3 || transport > 2) return { state: 'error', reason: `unknown address family/transport 0x${buf[13]!.toString(16)}` };
  const length = buf.readUInt16BE(14);
  if (length > MAX_PROXY_V2_LENGTH) return { state: 'error', reason: `PROXY header of ${length} bytes (limit ${MAX_PROXY_V2_LENGTH})` };
  if (buf.length < HEADER_BYTES + length) return { state: 'more' };
  const consumed = HEADER_BYTES + length;
  const body = buf.subarray(HEADER_BYTES, consumed);
  // LOCAL: "the receiver must accept this connection as valid and must use the real connection endpoints".
  if (command === 0 || transport !== 1 || (family !== 1 && family !== 2)) return { state: 'done', command: 'local', consumed };
  if (family === 1) {
    if (length < 12) return { state: 'error', reason: `INET addresses need 12 bytes, header has ${length}` };
    return { state: 'done', command: 'proxy', source: { address: `${body[0]}.${body[1]}.${body[2]}.${body[3]}`, port: body.readUInt16BE(8) }, consumed };
  }
  if (length < 36) return { state: 'error', reason: `INET6 addresses need 36 bytes, header has ${length}` };
  return { state: 'done', command: 'proxy', source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) }, consumed };
}

/**
 * Read the PROXY v2 header off `socket` before anything else reads it. Resolves with the header once
 * complete; the bytes behind it (a CONNECT pipelined in the same segment) are put back with
 * `unshift`, and the socket is left paused for the next reader. Rejects on a malformed or missing
 * header, on a close, or after `timeoutMs` (a peer that sends nothing must not hold a slot).
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: Error | undefined, header?: ProxyHeader, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (err) return reject(err);
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(header!);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = parseProxyV2(buf);
      if (r.state === 'more') return;
      if (r.state === 'error') return finish(new Error(r.reason));
      const { state: _state, ...header } = r;
      finish(undefined, header, buf.subarray(r.consumed));
    };
    const onClose = (): void => finish(new Error('closed before a PROXY header'));
    const timer = setTimeout(() => finish(new Error(`no PROXY header within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
  });
}
