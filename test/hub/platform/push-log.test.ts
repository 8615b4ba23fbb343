import { usePostgres } from '../../support/postgres.js';
import { describePushLog } from './push-log.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describePushLog('SQLite', sqliteFactory);
describePushLog('PostgreSQL 15', postgresFactory(usePostgres(), 'push_log'));
