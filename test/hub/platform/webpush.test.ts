import { usePostgres } from '../../support/postgres.js';
import { describeWebPush } from './webpush.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeWebPush('SQLite', sqliteFactory);
describeWebPush('PostgreSQL 15', postgresFactory(usePostgres(), 'webpush'));
