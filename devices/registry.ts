import type { DriverFactory } from './types.js';
import { isapiDriverFactory } from './access-gate/isapi-driver.js';
import { onvifDriverFactory } from './onvif-camera/driver.js';
import { anprDriverFactory } from './barrier-gate/anpr-driver.js';
import { zktecoDriverFactory } from './access-gate/zkteco-driver.js';

/**
 * Driver factories by the name a gateway config uses in `driver:`. Adding a driver is one line here;
 * the gateway validates each device's `options` with the factory's schema before creating it.
 */
export const driverRegistry: Map<string, DriverFactory> = new Map<string, DriverFactory>([
  [isapiDriverFactory.name, isapiDriverFactory],
  [onvifDriverFactory.name, onvifDriverFactory],
  [anprDriverFactory.name, anprDriverFactory],
  [zktecoDriverFactory.name, zktecoDriverFactory],
]);

/** The factory registered under `name`, or `undefined` (the config loader lists the known names). */
export function getDriverFactory(name: string): DriverFactory | undefined {
  return driverRegistry.get(name);
}
