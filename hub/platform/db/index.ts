export { createDatabase, openDatabase, type DatabaseOptions, type Dialect, type HubDatabase } from './open.js';
export { MIGRATIONS } from './migrations.js';
export type { Schema } from './schema.js';
export { importLegacyAudit } from './upgrade.js';
export { importLegacyRegistry, type RegistryImport } from './upgrade-registry.js';
export { isUniqueViolation } from './errors.js';
export { importLegacyPeople } from './upgrade-people.js';
export { importLegacyAlerts, type AlertsImport } from './upgrade-alerts.js';
export { importLegacyEvents, type LegacyEventsImport } from './upgrade-events.js';
