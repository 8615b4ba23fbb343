import { esc, NS } from './soap.js';

/**
 * Answer bodies of the simulated ONVIF device, one function per operation. Element names and nesting
 * follow the ONVIF WSDLs and schema (ver10/device/wsdl/devicemgmt.wsdl, ver10/media/wsdl/media.wsdl,
 * ver20/ptz/wsdl/ptz.wsdl, ver10/events/wsdl/event.wsdl, ver10/schema/onvif.xsd); each body element
 * carries its own xmlns so the envelope stays generic.
 */
export type SimEventKind = 'motion' | 'tamper' | 'signalLoss';

/** ONVIF topics and data items. Motion: Analytics Service Spec, cell motion detector (IsMotion);
 * tamper: Analytics Service Spec, tamper detector (IsTamper); signal loss: video source (State). */
export const SIM_TOPICS: Readonly<Record<SimEventKind, { topic: string; item: string; source: [string, string] }>> = {
  motion: { topic: 'tns1:RuleEngine/CellMotionDetector/Motion', item: 'IsMotion', source: ['VideoSourceConfigurationToken', 'VSC_1'] },
  tamper: { topic: 'tns1:RuleEngine/TamperDetector/Tamper', item: 'IsTamper', source: ['VideoSourceConfigurationToken', 'VSC_1'] },
  signalLoss: { topic: 'tns1:VideoSource/SignalLoss', item: 'State', source: ['Source', 'VideoSource_1'] },
};

export interface SimIdentity {
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
}

export interface SimPreset {
  token: string;
  name: string;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function dateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`
  );
}

/** Device service, GetSystemDateAndTime (Core Spec, access class PRE_AUTH: answered without a login). */
export function systemDateAndTime(deviceMs: number): string {
  const local = deviceMs + 8 * 3_600_000; // the simulated camera sits in China Standard Time
  return (
    `<tds:GetSystemDateAndTimeResponse xmlns:tds="${NS.tds}"><tds:SystemDateAndTime>` +
    `<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>` +
    `<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone><tt:UTCDateTime>${dateTime(deviceMs)}</tt:UTCDateTime>` +
    `<tt:LocalDateTime>${dateTime(local)}</tt:LocalDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`
  );
}

export function deviceInformation(id: SimIdentity): string {
  return (
    `<tds:GetDeviceInformationResponse xmlns:tds="${NS.tds}"><tds:Manufacturer>${esc(id.manufacturer)}</tds:Manufacturer>` +
    `<tds:Model>${esc(id.model)}</tds:Model><tds:FirmwareVersion>${esc(id.firmware)}</tds:FirmwareVersion>` +
    `<tds:SerialNumber>${esc(id.serial)}</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId></tds:GetDeviceInformationResponse>`
  );
}

export interface SimXAddrs {
  device: string;
  media: string;
  ptz: string;
  events: string;
}

/** GetCapabilities (Core Spec §8.1.2.2), the pre-GetServices way of finding the service XAddrs. */
export function capabilities(x: SimXAddrs): string {
  return (
    `<tds:GetCapabilitiesResponse xmlns:tds="${NS.tds}"><tds:Capabilities>` +
    `<tt:Device><tt:XAddr>${x.device}</tt:XAddr></tt:Device>` +
    `<tt:Events><tt:XAddr>${x.events}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>` +
    `<tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false` +
    `</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>` +
    `<tt:Media><tt:XAddr>${x.media}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>` +
    `<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
    `<tt:PTZ><tt:XAddr>${x.ptz}</tt:XAddr></tt:PTZ></tds:Capabilities></tds:GetCapabilitiesResponse>`
  );
}

/** GetServices (Core Spec §8.1.2.1): one tds:Service per service namespace. */
export function services(x: SimXAddrs): string {
  const one = (ns: string, addr: string, major: number, minor: number): string =>
    `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${addr}</tds:XAddr>` +
    `<tds:Version><tt:Major>${major}</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version></tds:Service>`;
  return (
    `<tds:GetServicesResponse xmlns:tds="${NS.tds}">${one(NS.tds, x.device, 2, 60)}${one(NS.trt, x.media, 2, 60)}` +
    `${one(NS.tptz, x.ptz, 2, 60)}${one(NS.tev, x.events, 2, 60)}</tds:GetServicesResponse>`
  );
}

/** A media profile of the simulated camera: its token, name and the encoder's picture size. */
export interface SimProfile {
  token: string;
  name: string;
  width: number;
  height: number;
  /** Where GetStreamUri points (the RTSP simulator's mount). */
  path: string;
  kbps: number;
}

/** Main stream and sub-stream, as rtsp-sim.py serves them (docs/video.md, "The simulator's stream"). */
export const SIM_PROFILES: readonly SimProfile[] = [
  { token: 'Profile_1', name: 'mainStream', width: 1280, height: 720, path: 'main', kbps: 2000 },
  { token: 'Profile_2', name: 'subStream', width: 640, height: 360, path: 'sub', kbps: 500 },
];

/**
 * Media GetProfiles (Media Service Spec §5.2.3): each profile with the shared video source
 * configuration, its own H.264 encoder configuration and, when the camera has PTZ, the PTZ configuration.
 */
export function profiles(list: readonly SimProfile[] = SIM_PROFILES, ptz = true): string {
  const one = (p: SimProfile, i: number): string =>
    `<trt:Profiles token="${esc(p.token)}" fixed="true"><tt:Name>${esc(p.name)}</tt:Name>` +
    `<tt:VideoSourceConfiguration token="VSC_1"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>${list.length}</tt:UseCount>` +
    `<tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="1280" height="720"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="VEC_${i + 1}"><tt:Name>VideoEncoderConfig${i + 1}</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
    `<tt:Quality>4</tt:Quality><tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>` +
    `<tt:BitrateLimit>${p.kbps}</tt:BitrateLimit></tt:RateControl><tt:H264><tt:GovLength>12</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>` +
    `<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>` +
    (ptz ? `<tt:PTZConfiguration token="PTZ_1"><tt:Name>PTZ</tt:Name><tt:UseCount>${list.length}</tt:UseCount><tt:NodeToken>PTZNode_1</tt:NodeToken></tt:PTZConfiguration>` : '') +
    `</trt:Profiles>`;
  return `<trt:GetProfilesResponse xmlns:trt="${NS.trt}">${list.map(one).join('')}</trt:GetProfilesResponse>`;
}

export function videoSources(): string {
  return (
    `<trt:GetVideoSourcesResponse xmlns:trt="${NS.trt}"><trt:VideoSources token="VideoSource_1"><tt:Framerate>25</tt:Framerate>` +
    `<tt:Resolution><tt:Width>1280</tt:Width><tt:Height>720</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`
  );
}

/** GetStreamUri / GetSnapshotUri: a tt:MediaUri. */
export function mediaUri(op: 'GetStreamUri' | 'GetSnapshotUri', uri: string): string {
  return (
    `<trt:${op}Response xmlns:trt="${NS.trt}"><trt:MediaUri><tt:Uri>${esc(uri)}</tt:Uri>` +
    `<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>` +
    `<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:${op}Response>`
  );
}

export const empty = (prefix: 'tptz' | 'wsnt', op: string): string => `<${prefix}:${op}Response xmlns:${prefix}="${NS[prefix]}"/>`;

export function presets(list: readonly SimPreset[]): string {
  const items = list.map((p) => `<tptz:Preset token="${esc(p.token)}"><tt:Name>${esc(p.name)}</tt:Name></tptz:Preset>`).join('');
  return `<tptz:GetPresetsResponse xmlns:tptz="${NS.tptz}">${items}</tptz:GetPresetsResponse>`;
}

/** CreatePullPointSubscription (Core Spec §9.2, Real-time Pull-Point Notification Interface). */
export function subscriptionCreated(address: string, nowMs: number, terminationMs: number): string {
  return (
    `<tev:CreatePullPointSubscriptionResponse xmlns:tev="${NS.tev}" xmlns:wsnt="${NS.wsnt}"><tev:SubscriptionReference>` +
    `<a:Address>${esc(address)}</a:Address></tev:SubscriptionReference><wsnt:CurrentTime>${iso(nowMs)}</wsnt:CurrentTime>` +
    `<wsnt:TerminationTime>${iso(terminationMs)}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`
  );
}

export interface SimNotification {
  kind: SimEventKind;
  state: boolean;
  at: number;
  operation: 'Initialized' | 'Changed';
}

/** One wsnt:NotificationMessage carrying a tt:Message (Core Spec §9.3 "Notification structure"). */
export function notification(n: SimNotification): string {
  const t = SIM_TOPICS[n.kind];
  return (
    `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${t.topic}</wsnt:Topic>` +
    `<wsnt:Message><tt:Message UtcTime="${new Date(n.at).toISOString()}" PropertyOperation="${n.operation}">` +
    `<tt:Source><tt:SimpleItem Name="${t.source[0]}" Value="${t.source[1]}"/></tt:Source>` +
    `<tt:Data><tt:SimpleItem Name="${t.item}" Value="${n.state}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`
  );
}

export function pulled(nowMs: number, terminationMs: number, messages: readonly SimNotification[]): string {
  return (
    `<tev:PullMessagesResponse xmlns:tev="${NS.tev}" xmlns:wsnt="${NS.wsnt}" xmlns:tns1="${NS.tns1}">` +
    `<tev:CurrentTime>${iso(nowMs)}</tev:CurrentTime><tev:TerminationTime>${iso(terminationMs)}</tev:TerminationTime>` +
    `${messages.map(notification).join('')}</tev:PullMessagesResponse>`
  );
}

export function renewed(nowMs: number, terminationMs: number): string {
  return (
    `<wsnt:RenewResponse xmlns:wsnt="${NS.wsnt}"><wsnt:TerminationTime>${iso(terminationMs)}</wsnt:TerminationTime>` +
    `<wsnt:CurrentTime>${iso(nowMs)}</wsnt:CurrentTime></wsnt:RenewResponse>`
  );
}
