import type { DeviceInfo } from '../types.js';
import { path, text, type Xml } from './soap.js';

export type { DeviceInfo };

/** Longest value kept: the strings go to logs, MQTT health, screens and an installer's terminal. */
export const MAX_INFO_CHARS = 64;

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * One device string, made safe to show: the XML reader leaves entities as written (devices/safe-xml.ts
 * turns entity processing off), so the five predefined ones and character references are decoded here
 * (XML 1.0 §4.6, §4.1); control characters (a terminal escape sequence, a newline that forges a log
 * line) become spaces; trimmed and capped at MAX_INFO_CHARS code points.
 */
export function cleanInfo(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const decoded = value.replace(/&(?:#x([0-9a-f]{1,6})|#(\d{1,7})|(lt|gt|amp|quot|apos));/gi, (all, hex: string, dec: string, name: string) => {
    if (name) return ENTITIES[name.toLowerCase()] ?? all;
    const cp = hex ? parseInt(hex, 16) : Number(dec);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : ' ';
  });
  // eslint-disable-next-line no-control-regex
  const shown = [...decoded.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim()].slice(0, MAX_INFO_CHARS).join('').trim();
  return shown === '' ? undefined : shown;
}

/**
 * A GetDeviceInformationResponse (ONVIF Core Spec §8.3.1 "Device Information"; devicemgmt.wsdl:
 * Manufacturer, Model, FirmwareVersion, SerialNumber, HardwareId, each an xs:string) → DeviceInfo.
 * Every field is read on its own: a missing or empty one is left out, the others are kept.
 */
export function readDeviceInfo(res: Xml): DeviceInfo {
  const get = (name: string): string | undefined => cleanInfo(text(path(res, name)));
  const info: DeviceInfo = {
    manufacturer: get('Manufacturer'),
    model: get('Model'),
    firmware: get('FirmwareVersion'),
    serial: get('SerialNumber'),
    hardwareId: get('HardwareId'),
  };
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as DeviceInfo;
}
