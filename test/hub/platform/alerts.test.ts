import { usePostgres } from '../../support/postgres.js';
import { describeAlerts } from './alerts.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeAlerts('SQLite', sqliteFactory);
describeAlerts('PostgreSQL 15', postgresFactory(usePostgres(), 'alerts'));
