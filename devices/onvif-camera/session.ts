import { createHash } from 'node:crypto';
import { deviceRequest, DeviceRequestError } from '../http-digest.js';
import type { DeviceMeter, PtzPreset } from '../types.js';
import { readDeviceInfo, type DeviceInfo } from './device-info.js';
import type { OnvifOptions } from './options.js';
import { asList, attr, duration, esc, isXml, NS, path, readDateTime, text, type Xml } from './soap.js';
import { OnvifError, soapCall } from './soap-client.js';
import { readPresets, readProfiles, safeStreamUri, type MediaProfile } from './streams.js';

/**
 * The ONVIF operations the driver uses, bound to one device: its clock offset, service addresses and
 * media profile. Each method is one SOAP exchange (or two for GotoPreset by name / snapshots).
 */
export interface Notification {
  topic: string;
  /** tt:Message/@UtcTime, ms; undefined when missing or unparsable. */
  at: number | undefined;
  operation: string | undefined;
  data: Map<string, string>;
  source: Map<string, string>;
}


export interface Snapshot {
  jpeg: Buffer;
  sha256: string;
  contentType: string;
}

type Call = { url: string; ns: string; op: string; body?: string; header?: string; extraMs?: number; signal?: AbortSignal | undefined };

export class OnvifSession {
  /** Device clock minus ours, ms (Core Spec §5.12: tokens use device time). */
  clockOffsetMs = 0;
  xaddr = { media: '', ptz: '', events: '' };
  profileToken = '';

  constructor(
    private readonly o: OnvifOptions,
    /** Told the outcome of every request to the device (the gateway's per-device metrics). */
    private readonly meter?: DeviceMeter,
  ) {}

  private count(op: string, err?: unknown): void {
    if (!this.meter) return;
    if (err === undefined) return this.meter.request(op, 'ok');
    const kind = err instanceof OnvifError ? err.kind : undefined;
    if (kind === 'aborted') return; // we stopped it: not the device's doing
    this.meter.request(op, kind === 'auth' ? 'auth-failed' : kind === 'timeout' ? 'timeout' : 'error');
  }

  private async call(c: Call): Promise<Xml> {
    try {
      const res = await this.request(c);
      this.count(c.op);
      return res;
    } catch (err) {
      this.count(c.op, err);
      throw err;
    }
  }

  private request(c: Call): Promise<Xml> {
    const auth = c.op === 'GetSystemDateAndTime' ? {} : { username: this.o.username, password: this.o.password };
    return soapCall({
      url: c.url,
      action: `${c.ns}/${c.op}`,
      body: c.body ?? `<${c.op} xmlns="${c.ns}"/>`,
      header: c.header,
      clockOffsetMs: this.clockOffsetMs,
      deadlineMs: this.o.requestTimeoutMs + (c.extraMs ?? 0),
      maxResponseBytes: this.o.maxResponseBytes,
      signal: c.signal,
      ...auth,
    });
  }

  /** GetSystemDateAndTime, unauthenticated (Core Spec, "GetSystemDateAndTime", access class PRE_AUTH); updates and returns the clock offset. */
  async syncClock(signal?: AbortSignal): Promise<number> {
    const sent = Date.now();
    const res = await this.call({ url: this.o.address, ns: NS.tds, op: 'GetSystemDateAndTime', signal });
    const device = readDateTime(path(res, 'SystemDateAndTime', 'UTCDateTime'));
    if (device === undefined) throw new OnvifError('bad-xml', 'GetSystemDateAndTime: no valid UTCDateTime');
    // The device read its clock somewhere in the round trip: take the midpoint; it reports whole seconds.
    this.clockOffsetMs = device - Math.round((sent + Date.now()) / 2);
    return this.clockOffsetMs;
  }

  /**
   * GetDeviceInformation (Core Spec §8.3.1 "Device Information"): make, model, firmware, serial and
   * hardware id, each trimmed, stripped of control characters and capped at 64 characters
   * (device-info.ts). Authenticated like every call but GetSystemDateAndTime: most cameras refuse it
   * anonymously, so a refusal (OnvifError kind "auth") also tells that the credentials are wrong.
   */
  async deviceInformation(signal?: AbortSignal): Promise<DeviceInfo> {
    return readDeviceInfo(await this.call({ url: this.o.address, ns: NS.tds, op: 'GetDeviceInformation', signal }));
  }

  /** Service addresses: GetServices (Core Spec §8.1.2.1), falling back to GetCapabilities (§8.1.2.2). */
  async discoverServices(signal?: AbortSignal): Promise<void> {
    const found = { media: '', ptz: '', events: '' };
    try {
      const res = await this.call({ url: this.o.address, ns: NS.tds, op: 'GetServices', body: `<GetServices xmlns="${NS.tds}"><IncludeCapability>false</IncludeCapability></GetServices>`, signal });
      for (const s of asList(res.Service)) {
        const ns = text(path(s, 'Namespace'));
        const x = text(path(s, 'XAddr'));
        if (ns === NS.trt && x) found.media = x;
        if (ns === NS.tptz && x) found.ptz = x;
        if (ns === NS.tev && x) found.events = x;
      }
    } catch (err) {
      if (err instanceof OnvifError && err.kind === 'auth') throw err;
    }
    if (!found.media || !found.events) {
      const res = await this.call({ url: this.o.address, ns: NS.tds, op: 'GetCapabilities', body: `<GetCapabilities xmlns="${NS.tds}"><Category>All</Category></GetCapabilities>`, signal });
      const caps = path(res, 'Capabilities');
      found.media ||= text(path(caps, 'Media', 'XAddr')) ?? '';
      found.ptz ||= text(path(caps, 'PTZ', 'XAddr')) ?? '';
      found.events ||= text(path(caps, 'Events', 'XAddr')) ?? '';
    }
    for (const [k, v] of Object.entries(found)) {
      if (v && !/^https?:\/\//i.test(v)) throw new OnvifError('bad-xml', `device gave a non-HTTP ${k} address`);
    }
    if (!found.media) throw new OnvifError('bad-xml', 'device has no Media service');
    this.xaddr = found;
  }

  /** Media GetProfiles (Media Service Spec §5.2.3): the first profile's token. */
  async loadProfile(signal?: AbortSignal): Promise<void> {
    const res = await this.call({ url: this.xaddr.media, ns: NS.trt, op: 'GetProfiles', signal });
    const token = attr(asList(res.Profiles)[0], 'token');
    if (!token) throw new OnvifError('bad-xml', 'GetProfiles: no profile');
    this.profileToken = token;
  }

  /** Media GetProfiles, every profile (streams.ts reads them). */
  async profiles(signal?: AbortSignal): Promise<MediaProfile[]> {
    return readProfiles(await this.call({ url: this.xaddr.media, ns: NS.trt, op: 'GetProfiles', signal }));
  }

  /** Media GetStreamUri (Media Service Spec §5.15.1), RTP unicast over RTSP: the profile's rtsp:// address, credentials dropped. */
  async streamUri(token: string, signal?: AbortSignal): Promise<string> {
    const body =
      `<GetStreamUri xmlns="${NS.trt}"><StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol>` +
      `</tt:Transport></StreamSetup><ProfileToken>${esc(token)}</ProfileToken></GetStreamUri>`;
    return safeStreamUri(await this.call({ url: this.xaddr.media, ns: NS.trt, op: 'GetStreamUri', body, signal }));
  }

  /** CreatePullPointSubscription (Core Spec §9.2); returns the pull point address and its end (ours, ms). */
  async subscribe(signal?: AbortSignal): Promise<{ address: string; expiresAt: number }> {
    if (!this.xaddr.events) throw new OnvifError('fault', 'device has no Events service');
    const body = `<CreatePullPointSubscription xmlns="${NS.tev}"><InitialTerminationTime>PT${this.o.subscriptionS}S</InitialTerminationTime></CreatePullPointSubscription>`;
    const res = await this.call({ url: this.xaddr.events, ns: NS.tev, op: 'CreatePullPointSubscription', body, signal });
    const address = text(path(res, 'SubscriptionReference', 'Address'));
    if (!address || !/^https?:\/\//i.test(address)) throw new OnvifError('bad-xml', 'CreatePullPointSubscription: no HTTP pull point address');
    return { address, expiresAt: this.localEnd(text(res.CurrentTime), text(res.TerminationTime)) };
  }

  /** Device CurrentTime/TerminationTime → our clock: only their difference is trusted. */
  private localEnd(current: string | undefined, termination: string | undefined): number {
    const left = Date.parse(termination ?? '') - Date.parse(current ?? '');
    return Date.now() + (Number.isFinite(left) && left > 0 ? Math.min(left, this.o.subscriptionS * 1000) : this.o.subscriptionS * 1000);
  }

  private to = (address: string): string => `<a:To>${esc(address)}</a:To>`;

  /** PullMessages (Core Spec §9.2): the device holds the call up to `pullTimeoutS` when it has nothing. */
  async pull(address: string, signal?: AbortSignal): Promise<Notification[]> {
    const body = `<PullMessages xmlns="${NS.tev}"><Timeout>PT${this.o.pullTimeoutS}S</Timeout><MessageLimit>32</MessageLimit></PullMessages>`;
    const res = await this.call({ url: address, ns: NS.tev, op: 'PullMessages', body, header: this.to(address), extraMs: this.o.pullTimeoutS * 1000, signal });
    const messages: Notification[] = [];
    for (const n of asList(res.NotificationMessage).slice(0, 64)) {
      const topic = text(path(n, 'Topic'));
      const msg = path(n, 'Message', 'Message');
      if (!topic || !isXml(msg)) continue;
      const items = (where: string): Map<string, string> =>
        new Map(asList(path(msg, where, 'SimpleItem')).slice(0, 16).flatMap((i) => {
          const [k, v] = [attr(i, 'Name'), attr(i, 'Value')];
          return k !== undefined && v !== undefined ? [[k, v] as [string, string]] : [];
        }));
      const utc = Date.parse(attr(msg, 'UtcTime') ?? '');
      messages.push({ topic: topic.slice(0, 200), at: Number.isFinite(utc) ? utc : undefined, operation: attr(msg, 'PropertyOperation'), data: items('Data'), source: items('Source') });
    }
    // TerminationTime in a PullMessagesResponse is not relied on (firmware differ); Renew keeps the end.
    return messages;
  }

  /** WS-BaseNotification Renew on the pull point. */
  async renew(address: string, signal?: AbortSignal): Promise<number> {
    const body = `<wsnt:Renew xmlns:wsnt="${NS.wsnt}"><wsnt:TerminationTime>PT${this.o.subscriptionS}S</wsnt:TerminationTime></wsnt:Renew>`;
    const res = await this.call({ url: address, ns: `${NS.wsnt}/SubscriptionManager`, op: 'RenewRequest', body, header: this.to(address), signal });
    return this.localEnd(text(res.CurrentTime), text(res.TerminationTime));
  }

  async unsubscribe(address: string): Promise<void> {
    const body = `<wsnt:Unsubscribe xmlns:wsnt="${NS.wsnt}"/>`;
    await this.call({ url: address, ns: `${NS.wsnt}/SubscriptionManager`, op: 'UnsubscribeRequest', body, header: this.to(address) });
  }

  private ptzUrl(): string {
    if (!this.xaddr.ptz) throw new OnvifError('fault', 'device has no PTZ service');
    return this.xaddr.ptz;
  }

  /** PTZ ContinuousMove (PTZ Service Spec §5.3.3): normalised velocities, stop after `timeoutMs`. */
  async continuousMove(v: { pan: number; tilt: number; zoom: number; timeoutMs: number }, signal?: AbortSignal): Promise<void> {
    const body =
      `<ContinuousMove xmlns="${NS.tptz}"><ProfileToken>${esc(this.profileToken)}</ProfileToken><Velocity>` +
      `<tt:PanTilt x="${v.pan}" y="${v.tilt}"/><tt:Zoom x="${v.zoom}"/></Velocity><Timeout>${duration(v.timeoutMs)}</Timeout></ContinuousMove>`;
    await this.call({ url: this.ptzUrl(), ns: NS.tptz, op: 'ContinuousMove', body, signal });
  }

  /** PTZ Stop (PTZ Service Spec §5.3.5): pan/tilt and zoom. */
  async stop(signal?: AbortSignal): Promise<void> {
    const body = `<Stop xmlns="${NS.tptz}"><ProfileToken>${esc(this.profileToken)}</ProfileToken><PanTilt>true</PanTilt><Zoom>true</Zoom></Stop>`;
    await this.call({ url: this.ptzUrl(), ns: NS.tptz, op: 'Stop', body, signal });
  }

  /** PTZ GetPresets (PTZ Service Spec §5.4.1) of the profile the PTZ commands use, bounded (streams.ts readPresets). */
  async presets(signal?: AbortSignal): Promise<PtzPreset[]> {
    const res = await this.call({ url: this.ptzUrl(), ns: NS.tptz, op: 'GetPresets', body: `<GetPresets xmlns="${NS.tptz}"><ProfileToken>${esc(this.profileToken)}</ProfileToken></GetPresets>`, signal });
    return readPresets(res);
  }

  /** GetPresets then GotoPreset (PTZ Service Spec §5.4): `preset` may be a token or a preset name. */
  async gotoPreset(preset: string, signal?: AbortSignal): Promise<string> {
    const list = await this.call({ url: this.ptzUrl(), ns: NS.tptz, op: 'GetPresets', body: `<GetPresets xmlns="${NS.tptz}"><ProfileToken>${esc(this.profileToken)}</ProfileToken></GetPresets>`, signal });
    const presets = asList(list.Preset).map((p) => ({ token: attr(p, 'token'), name: text(path(p, 'Name')) }));
    const token = (presets.find((p) => p.token === preset) ?? presets.find((p) => p.name === preset))?.token;
    if (!token) throw new OnvifError('fault', `no preset ${JSON.stringify(preset)} on the device`);
    const body = `<GotoPreset xmlns="${NS.tptz}"><ProfileToken>${esc(this.profileToken)}</ProfileToken><PresetToken>${esc(token)}</PresetToken></GotoPreset>`;
    await this.call({ url: this.ptzUrl(), ns: NS.tptz, op: 'GotoPreset', body, signal });
    return token;
  }

  /** GetSnapshotUri (Media Service Spec §5.15.2) then an HTTP GET with deadline and byte cap. */
  async snapshot(signal?: AbortSignal): Promise<Snapshot> {
    const body = `<GetSnapshotUri xmlns="${NS.trt}"><ProfileToken>${esc(this.profileToken)}</ProfileToken></GetSnapshotUri>`;
    const res = await this.call({ url: this.xaddr.media, ns: NS.trt, op: 'GetSnapshotUri', body, signal });
    const uri = text(path(res, 'MediaUri', 'Uri'));
    if (!uri || !URL.canParse(uri) || !/^https?:$/.test(new URL(uri).protocol)) throw new OnvifError('bad-xml', 'GetSnapshotUri: no HTTP URI');
    let got;
    try {
      got = await deviceRequest({ method: 'GET', url: uri, username: this.o.username, password: this.o.password, deadlineMs: this.o.requestTimeoutMs, maxResponseBytes: this.o.snapshotMaxBytes, signal });
      if (got.status !== 200) throw new OnvifError(got.status === 401 ? 'auth' : 'http', `snapshot: HTTP ${got.status}`);
      this.count('snapshot');
    } catch (err) {
      const e = err instanceof DeviceRequestError ? new OnvifError(err.kind === 'bad-request' || err.kind === 'bad-challenge' ? 'http' : err.kind, `snapshot: ${err.message}`) : err;
      this.count('snapshot', e);
      throw e;
    }
    const jpeg = got.body;
    // A JPEG starts with SOI (FF D8) and ends with EOI (FF D9), ITU-T T.81 §B.2.1.
    if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== 0xd9) {
      throw new OnvifError('bad-xml', `snapshot: answer is not a JPEG (${jpeg.length} bytes)`);
    }
    return { jpeg, sha256: createHash('sha256').update(jpeg).digest('hex'), contentType: 'image/jpeg' };
  }
}
