import { usePostgres } from '../../support/postgres.js';
import { describeNotifyOutbox } from './notify-outbox.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeNotifyOutbox('SQLite', sqliteFactory);
describeNotifyOutbox('PostgreSQL 15', postgresFactory(usePostgres(), 'notify_outbox'));
