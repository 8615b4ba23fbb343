import { describe, expect, it } from 'vitest';
import { MAX_PROXY_V2_LENGTH, PROXY_V2_SIGNATURE, parseProxyV2 } from '../../../hub/broker/proxy-protocol.js';

/** A v2 header as haproxy's doc/proxy-protocol.txt section 2.2 lays it out. */
function header(verCmd: number, famProto: number, body: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([verCmd, famProto]), len, body]);
}
const inet = (src: number[], dst: number[], sport: number, dport: number): Buffer => {
  const b = Buffer.alloc(12);
  Buffer.from(src).copy(b, 0);
  Buffer.from(dst).copy(b, 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
};

describe('PROXY protocol v2 parser', () => {
  it('reads the client address of PROXY over TCP/IPv4, and says how many bytes were the header', () => {
    const h = header(0x21, 0x11, inet([127, 0, 0, 7], [127, 0, 0, 1], 40_001, 1883));
    const withConnect = Buffer.concat([h, Buffer.from([0x10, 0x00])]);
    expect(parseProxyV2(withConnect)).toEqual({ state: 'done', command: 'proxy', source: { address: '127.0.0.7', port: 40_001 }, consumed: 28 });
  });

  it('reads IPv6 and IPv4-mapped sources, and skips TLVs after the addresses', () => {
    const v6 = Buffer.alloc(36);
    v6.writeUInt16BE(0x2001, 0);
    v6.writeUInt16BE(0x0db8, 2);
    v6.writeUInt16BE(0x0001, 14);
    v6.writeUInt16BE(5555, 32);
    const tlv = Buffer.from([0x04, 0x00, 0x02, 0xaa, 0xbb]); // PP2_TYPE_NOOP, 2 bytes
    expect(parseProxyV2(header(0x21, 0x21, Buffer.concat([v6, tlv])))).toMatchObject({ state: 'done', source: { address: '2001:db8:0:0:0:0:0:1', port: 5555 }, consumed: 16 + 41 });
    const mapped = Buffer.alloc(36);
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]).copy(mapped, 0);
    expect(parseProxyV2(header(0x21, 0x21, mapped))).toMatchObject({ source: { address: '::ffff:10.1.2.3' } });
  });

  it('takes LOCAL (a health check of the balancer) and unrelayed families as "use the socket address"', () => {
    expect(parseProxyV2(header(0x20, 0x00, Buffer.alloc(0)))).toEqual({ state: 'done', command: 'local', consumed: 16 });
    expect(parseProxyV2(header(0x21, 0x12, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)))).toMatchObject({ command: 'local' }); // UDP
    expect(parseProxyV2(header(0x21, 0x31, Buffer.alloc(216)))).toMatchObject({ command: 'local' }); // UNIX
  });

  it('asks for more while the header is incomplete, byte by byte', () => {
    const h = header(0x21, 0x11, inet([127, 0, 0, 9], [127, 0, 0, 1], 1, 2));
    for (let n = 0; n < h.length; n++) expect(parseProxyV2(h.subarray(0, n)), `${n} bytes`).toEqual({ state: 'more' });
    expect(parseProxyV2(h)).toMatchObject({ state: 'done' });
  });

  it('refuses whatever is not a v2 header, at the first byte that differs', () => {
    expect(parseProxyV2(Buffer.from([0x10, 0x0c]))).toEqual({ state: 'error', reason: 'no PROXY protocol v2 signature' }); // a bare MQTT CONNECT
    expect(parseProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'))).toMatchObject({ state: 'error' }); // v1 text
    expect(parseProxyV2(Buffer.concat([PROXY_V2_SIGNATURE.subarray(0, 5), Buffer.from([0x00])]))).toMatchObject({ state: 'error' });
    expect(parseProxyV2(header(0x11, 0x11, inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2)))).toEqual({ state: 'error', reason: 'PROXY protocol version 1, not 2' });
    expect(parseProxyV2(header(0x22, 0x11, inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2)))).toEqual({ state: 'error', reason: 'unknown PROXY command 2' });
    expect(parseProxyV2(header(0x21, 0x41, inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2)))).toMatchObject({ state: 'error' });
    expect(parseProxyV2(header(0x21, 0x11, Buffer.alloc(8)))).toEqual({ state: 'error', reason: 'INET addresses need 12 bytes, header has 8' });
    expect(parseProxyV2(header(0x21, 0x21, Buffer.alloc(20)))).toEqual({ state: 'error', reason: 'INET6 addresses need 36 bytes, header has 20' });
  });

  it('refuses a length over the cap before waiting for its bytes', () => {
    const h = header(0x21, 0x11, Buffer.alloc(0));
    h.writeUInt16BE(MAX_PROXY_V2_LENGTH + 1, 14);
    expect(parseProxyV2(h)).toEqual({ state: 'error', reason: `PROXY header of ${MAX_PROXY_V2_LENGTH + 1} bytes (limit ${MAX_PROXY_V2_LENGTH})` });
  });
});
