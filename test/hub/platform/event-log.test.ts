import { usePostgres } from '../../support/postgres.js';
import { describeEventLog } from './event-log.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeEventLog('SQLite', sqliteFactory);
describeEventLog('PostgreSQL 15', postgresFactory(usePostgres(), 'event_log'));
