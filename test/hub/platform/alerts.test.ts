import { usePostgres } from '../../support/postgres.js';
import { describeAlerts } from './alerts.contract.js';
import { describeAlertEngine } from './alerts-engine.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeAlerts('SQLite', sqliteFactory);
describeAlertEngine('SQLite', sqliteFactory);
const postgres = postgresFactory(usePostgres(), 'alerts');
describeAlerts('PostgreSQL 15', postgres);
describeAlertEngine('PostgreSQL 15', postgres);
