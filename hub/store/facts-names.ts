import type { GatewayStatus } from '../../protocol/index.js';
import type { FactPoint } from './facts.js';

/**
 * Names for the dashboards. InfluxDB keys everything by ids (`maple-court`, `gate-east`); a street
 * office reads names (枫林苑, 东门). The hub knows them: the registry's street and estate names
 * (`hub street add --name`, `hub estate add --name`) and the device names of the gateway config, sent
 * in every gateway status (`devices[id].name`). They reach Grafana two ways (docs/storage.md, "Facts"):
 *
 * - as tags next to the id on the facts (`estate_name` on every fact with an `estate` tag,
 *   `device_name` next to `device`): a function of the id, so no new series except when a name
 *   changes (the old and the new name are then two series, as they were at the time);
 * - as lookup measurements `street_names`, `estate_names` and `device_names`, one point per name written when it is
 *   first seen, when it changes, and again after a day (so the raw retention never drops a name
 *   still in use): the dashboards' variables read `label` = `id|name` (Grafana splits it with
 *   named `value`/`text` groups), and tables of raw events join `name` by id.
 */

/** Street tag value for an estate the registry gives no street. */
export const NO_STREET = 'unassigned';

/** A name is written again after this long even when unchanged (raw retention is 30 days). */
export const NAME_REFRESH_MS = 24 * 3_600_000;

const MAX_NAME = 64;

/**
 * A name safe as an InfluxDB tag value (hub/store/influx-line.ts refuses control characters and
 * backslashes: a fact with one would be dead-lettered whole), trimmed and at most 64 characters;
 * undefined when nothing is left.
 */
export function cleanName(name: string | null | undefined): string | undefined {
  if (typeof name !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const text = name.replace(/[\u0000-\u001f\u007f\\]/g, ' ').replace(/\s+/g, ' ').trim();
  return text ? [...text].slice(0, MAX_NAME).join('') : undefined;
}

export interface EstateEntry {
  id: string;
  street: string | null;
  name: string | null;
}

export interface StreetEntry {
  id: string;
  name: string | null;
}

export interface NameBookOptions {
  /** The registry's estates (read at most once a minute, and once more for an estate not in the last read). */
  estates?: () => ReadonlyArray<EstateEntry>;
  /** The registry's streets, read with the estates. */
  streets?: () => ReadonlyArray<StreetEntry>;
  ttlMs?: number;
  now?: () => number;
}

/**
 * What the hub knows of names, in memory: estates from the registry, devices from gateway status.
 * `changes()` returns the lookup points due (new, changed, or written more than a day ago).
 */
export class NameBook {
  private estates = new Map<string, { street: string; name: string | undefined }>();
  /** Street names by id (undefined: the registry has none). */
  private streets = new Map<string, string | undefined>();
  /** Device names by estate, then device id (undefined: the status gave none). */
  private devices = new Map<string, Map<string, string | undefined>>();
  /** Estates seen in gateway status or connections, registered or not. */
  private seen = new Set<string>();
  /** Estates looked up and not found since the last read: not worth another read before the next. */
  private missed = new Set<string>();
  private readAt = -Infinity;
  private sweptAt = -Infinity;
  /** Last written lookup value and when, per `estate` or `estate/device` key. */
  private written = new Map<string, { value: string; at: number }>();
  private readonly now: () => number;
  private readonly ttlMs: number;

  private estatesSource: NameBookOptions['estates'];
  private streetsSource: NameBookOptions['streets'];

  constructor(o: NameBookOptions = {}) {
    this.now = o.now ?? (() => Date.now());
    this.ttlMs = o.ttlMs ?? 60_000;
    this.estatesSource = o.estates;
    this.streetsSource = o.streets;
  }

  /** Where the registry's estates and streets come from (the hub's registry; set by subscribeFacts). */
  source(estates: NonNullable<NameBookOptions['estates']>, streets?: NameBookOptions['streets']): void {
    this.estatesSource = estates;
    if (streets) this.streetsSource = streets;
    this.readAt = -Infinity;
  }

  /** Re-read the registry when the last read is older than the TTL, or for an estate it did not list (once). */
  private read(estate?: string): void {
    if (!this.estatesSource) return;
    const miss = estate !== undefined && !this.estates.has(estate) && !this.missed.has(estate);
    if (this.now() - this.readAt <= this.ttlMs && !miss) return;
    const next = new Map<string, { street: string; name: string | undefined }>();
    for (const e of this.estatesSource()) next.set(e.id, { street: e.street ?? NO_STREET, name: cleanName(e.name) });
    this.estates = next;
    if (this.streetsSource) this.streets = new Map(this.streetsSource().map((st) => [st.id, cleanName(st.name)]));
    this.missed.clear();
    if (estate !== undefined && !next.has(estate)) this.missed.add(estate);
    this.readAt = this.now();
  }

  street(estate: string): string {
    this.read(estate);
    return this.estates.get(estate)?.street ?? NO_STREET;
  }

  /** The street's name, or its id when it has none (and for {@link NO_STREET}). */
  streetName(street: string): string {
    return this.streets.get(street) ?? street;
  }

  /** The estate's name, or its id when it has none. */
  estateName(estate: string): string {
    this.read(estate);
    return this.estates.get(estate)?.name ?? estate;
  }

  /** The device's name from its gateway's status, or its id. */
  deviceName(estate: string, device: string): string {
    return this.devices.get(estate)?.get(device) ?? device;
  }

  /** Learn the device names a gateway status carries (a device without a name keeps its id). */
  learn(status: GatewayStatus): void {
    const entries = Object.entries(status.devices ?? {});
    if (entries.length === 0) return;
    let known = this.devices.get(status.estate);
    if (!known) this.devices.set(status.estate, (known = new Map()));
    for (const [device, health] of entries) known.set(device, cleanName(health.name));
  }

  /**
   * Lookup points due now for the estates in `seen` and their devices (a gateway's estate that the
   * registry does not list is named by its id); at most once a minute (the registry's TTL) for every
   * estate and device known, so a name changed in the registry is written without a status from it.
   * A status of one gateway thus costs a look at its own estate, not at the whole district.
   */
  changes(seen: readonly string[] = []): FactPoint[] {
    for (const e of seen) this.seen.add(e);
    for (const e of seen) this.read(e);
    const at = this.now();
    const sweep = at - this.sweptAt >= this.ttlMs;
    if (sweep) this.sweptAt = at;
    const out: FactPoint[] = [];
    const due = (key: string, value: string): boolean => {
      const last = this.written.get(key);
      if (last && last.value === value && at - last.at < NAME_REFRESH_MS) return false;
      this.written.set(key, { value, at });
      return true;
    };
    const ids = sweep ? new Set([...this.estates.keys(), ...this.seen]) : new Set(seen);
    // The streets of these estates, and on a sweep every street of the registry (one without estates too).
    const streets = new Set<string>(sweep ? this.streets.keys() : []);
    for (const id of ids) {
      const name = this.estateName(id);
      const street = this.street(id);
      streets.add(street);
      if (due(id, `${street}\n${name}`)) out.push({ measurement: 'estate_names', tags: { estate: id }, fields: { name, street, label: `${id}|${name}` }, ts: at });
    }
    for (const street of streets) {
      const name = this.streetName(street);
      // Keys of estates are bare ids ([a-z0-9-]), of devices `estate/device`: `#` keeps streets apart.
      if (due(`#street/${street}`, name)) out.push({ measurement: 'street_names', tags: { street }, fields: { name, label: `${street}|${name}` }, ts: at });
    }
    for (const id of ids) {
      for (const [device, known] of this.devices.get(id) ?? []) {
        const name = known ?? device;
        if (due(`${id}/${device}`, name)) out.push({ measurement: 'device_names', tags: { estate: id, device }, fields: { name, label: `${device}|${name}` }, ts: at });
      }
    }
    return out;
  }

  /**
   * The fact with `estate_name` (and `device_name`) tags beside its ids, unless it has them. The
   * lookup measurements themselves are left as they are.
   */
  tag(p: FactPoint): FactPoint {
    if (p.measurement === 'street_names' || p.measurement === 'estate_names' || p.measurement === 'device_names') return p;
    const { estate, device } = p.tags;
    if (estate === undefined) return p;
    const tags = { ...p.tags };
    tags.estate_name ??= this.estateName(estate);
    if (device !== undefined) tags.device_name ??= this.deviceName(estate, device);
    return { ...p, tags };
  }
}
