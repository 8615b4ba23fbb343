/**
 * Which connection of a gateway is its latest, across hub nodes: what tells a stale Last Will from a
 * real one (issue 18).
 *
 * Observed: a gateway that moved from node A to node B was shown offline afterwards, by its old
 * connection. Three ways: (1) A closes the old connection when B announces the new one (aedes's
 * `$SYS/{broker}/new/clients`, [MQTT-3.1.4-2] across nodes) and publishes its will, after B said
 * "connected"; (2) A was killed and B's aedes publishes A's wills from Redis minutes later
 * (`_clearWills`: a broker silent for 3 heartbeats is dead), while the gateway is connected to B; (3)
 * the old connection's disconnect is logged after the new one's connect.
 *
 * The broker drops the wills of (1) and (2) here: a will is news only from the gateway's latest
 * connection known to this node. (3), and whatever a node could not know (it started after the
 * move), are judged downstream by the connection's order key (`since`, `at`) that every
 * `gateway.connection` entry carries (`ConnectionKey`, hub/bus.ts; hub/state/reducer.ts).
 */
/** The `ts` of a will payload (a GatewayStatus), if it has one. */
export function willTs(will: { payload?: Buffer | string } | null | undefined): number | undefined {
  if (!will?.payload) return undefined;
  try {
    const ts = (JSON.parse(will.payload.toString()) as { ts?: unknown }).ts;
    return typeof ts === 'number' && Number.isSafeInteger(ts) ? ts : undefined;
  } catch {
    return undefined;
  }
}

interface Latest {
  /** aedes broker id of the node that holds it. */
  broker: string;
  /** The connection object, when it is on this node. */
  conn?: object;
}

/** The latest connection of each MQTT client id, as this node learns of them. */
export function createSessions(selfBroker: () => string) {
  const latest = new Map<string, Latest>();
  return {
    /** A connection of this node passed authentication. */
    local(clientId: string, conn: object): void {
      latest.set(clientId, { broker: selfBroker(), conn });
    },
    /** Learn the connections the other nodes accept (aedes announces each one to close the same id elsewhere). */
    watch(aedes: unknown): void {
      const mq = (aedes as { mq: { on(t: string, f: (p: { topic: string; payload: Buffer }, cb: () => void) => void): void } }).mq;
      mq.on('$SYS/+/new/clients', (packet, cb) => {
        const broker = packet.topic.split('/')[1] ?? '';
        if (broker !== selfBroker()) latest.set(packet.payload.toString(), { broker });
        cb();
      });
    },
    /**
     * A will aedes is about to publish that is not news. `c` is the closing connection (its own will),
     * or, when aedes publishes a dead node's will from Redis (`brokerId` set), the connection of the
     * same id now on this node, or null.
     */
    staleWill(c: { id: string; will?: unknown } | null, packet: { clientId?: string; brokerId?: string }): boolean {
      if (c && packet === c.will) return this.replaced(c.id, c);
      // Only a will read back from the persistence carries the id of the node that kept it.
      if (packet.brokerId === undefined) return false;
      return c !== null || this.movedFrom(packet.clientId ?? '', packet.brokerId);
    },
    /** The will of `conn` (this node, at its close) is stale: a newer connection took over. */
    replaced(clientId: string, conn: object): boolean {
      const l = latest.get(clientId);
      return l !== undefined && l.conn !== conn;
    },
    /**
     * A will kept in Redis by node `broker` (aedes publishes it when that node is dead) is stale: the
     * gateway connected again since, to another node (this one included).
     */
    movedFrom(clientId: string, broker: string | undefined): boolean {
      const l = latest.get(clientId);
      return l !== undefined && l.broker !== broker;
    },
  };
}
