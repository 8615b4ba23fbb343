import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Before CONNACK (only CONNECT, or packets pipelined right behind it) or after it. */
export type GuardPhase = 'pre-connack' | 'connected';

export interface GuardViolation {
  kind: 'oversize' | 'malformed-length';
  phase: GuardPhase;
  /** MQTT control packet type (first 4 bits of the fixed header), §2.2.1. */
  type: number;
  /** Remaining Length decoded so far: a lower bound of what the packet claims. */
  claimed: number;
  limit: number;
}

export interface PacketGuardOptions {
  /** Largest Remaining Length accepted once the client is connected. */
  maxPacketBytes: number;
  /** Largest Remaining Length accepted before CONNACK (the unauthenticated CONNECT). */
  maxConnectBytes: number;
  onViolation(violation: GuardViolation): void;
  /** The client's address when a PROXY protocol header gave it (the socket's peer is then the balancer). */
  remoteAddress?: string;
}

/**
 * Sits between a client's socket and aedes. mqtt-packet reads the fixed header and then buffers the
 * whole Remaining Length in memory before it parses anything, so a peer that *claims* 256 MiB and
 * trickles bytes makes the broker hold up to 256 MiB per connection, before authentication.
 *
 * The guard parses only the fixed header of each packet as bytes pass (MQTT 3.1.1 §2.2: one byte of
 * type and flags, then the Remaining Length, §2.2.3, 1–4 bytes of 7 bits each, least significant
 * first, high bit = "more bytes follow") and skips the body by counting, so chunks pass through
 * unchanged and uncopied, and a header split across chunks is handled by keeping the decoder state.
 * As soon as the decoded length exceeds the limit for the phase (it only grows with more bytes) the
 * socket is destroyed, without waiting for the rest of the header.
 *
 * It is a Duplex (aedes takes any duplex stream, as with WebSockets): reads come from the socket
 * through the guard with backpressure, writes go to the socket once per event-loop turn. `hold()`/`release()` stop
 * reading from the socket (the per-gateway rate limit delays a gateway rather than dropping).
 */
export class PacketGuard extends Duplex {
  readonly socket: Socket;
  private readonly opts: PacketGuardOptions;
  private phase: GuardPhase = 'pre-connack';
  private holds = 0;
  // fixed-header decoder state
  private skip = 0; // body bytes of the current packet still to pass
  private type = -1; // type of the header being decoded; -1 = the next byte starts a packet
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(socket: Socket, opts: PacketGuardOptions) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.opts = opts;
    socket.on('data', (chunk: Buffer) => {
      const violation = this.inspect(chunk);
      if (violation) {
        opts.onViolation(violation);
        socket.destroy();
        this.destroy(new Error(`MQTT packet refused: ${violation.kind} (type ${violation.type}, claims >= ${violation.claimed} bytes, limit ${violation.limit})`));
        return;
      }
      if (!this.push(chunk) || this.holds > 0) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  /** The client's address: from the PROXY header when there was one, else the socket's peer. */
  get remoteAddress(): string | undefined {
    return this.opts.remoteAddress ?? this.socket.remoteAddress;
  }

  /** CONNACK 0 was sent: packets may now be up to `maxPacketBytes`. */
  connected(): void {
    this.phase = 'connected';
  }

  /** Stop reading from the socket until every hold is released. */
  hold(): void {
    this.holds++;
    this.socket.pause();
  }

  release(): void {
    if (this.holds > 0 && --this.holds === 0 && !this.destroyed && this.readableLength < this.readableHighWaterMark) this.socket.resume();
  }

  private inspect(chunk: Buffer): GuardViolation | null {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.skip > 0) {
        const step = Math.min(this.skip, n - i);
        this.skip -= step;
        i += step;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.type < 0) {
        this.type = byte >> 4;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      const limit = this.phase === 'connected' ? this.opts.maxPacketBytes : this.opts.maxConnectBytes;
      if (this.length > limit) return { kind: 'oversize', phase: this.phase, type: this.type, claimed: this.length, limit };
      if (byte & 0x80) {
        // §2.2.3: at most four bytes; a fifth is a malformed packet, so close [MQTT-4.8.0-1]
        if (this.lengthBytes === 4) return { kind: 'malformed-length', phase: this.phase, type: this.type, claimed: this.length, limit };
        continue;
      }
      this.skip = this.length;
      this.type = -1;
    }
    return null;
  }

  override _read(): void {
    if (this.holds === 0) this.socket.resume();
  }

  // Outgoing: what aedes writes in one event-loop turn goes to the socket as one write. mqtt-packet
  // corks the stream per packet and writes each in pieces (a PUBACK is 2 + 2 bytes), and a batch of
  // verdicts settles hundreds of PUBACKs in one turn: one copy into one buffer and one socket write
  // per turn costs far less than a socket write per packet (it was 7 % of the hub's CPU at 14k ev/s).
  private out: Buffer[] = [];
  private outTurn: NodeJS.Immediate | undefined;
  /** Write callbacks held while the socket is backed up, so aedes feels its backpressure. */
  private held: Array<(error?: Error | null) => void> = [];
  private backedUp = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.enqueue(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (let i = 0; i < chunks.length - 1; i++) this.out.push(chunks[i]!.chunk);
    this.enqueue(chunks[chunks.length - 1]!.chunk, callback);
  }

  private enqueue(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback();
    this.out.push(chunk);
    this.outTurn ??= setImmediate(() => this.flushOut());
    if (this.backedUp) this.held.push(callback);
    else callback();
  }

  /** Hand this turn's bytes to the socket (also before ending or destroying it: a CONNACK refusal is sent, then the close). */
  private flushOut(): void {
    if (this.outTurn) clearImmediate(this.outTurn);
    this.outTurn = undefined;
    if (this.out.length === 0) return;
    const bytes = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    if (this.socket.destroyed) return;
    if (!this.socket.write(bytes) && !this.backedUp) {
      this.backedUp = true;
      this.socket.once('drain', () => {
        this.backedUp = false;
        const held = this.held;
        this.held = [];
        for (const cb of held) cb();
      });
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flushOut();
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.flushOut();
    this.socket.destroy();
    this.held = [];
    callback(error);
  }
}
