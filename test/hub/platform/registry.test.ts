import { usePostgres } from '../../support/postgres.js';
import { describeRegistry } from './registry.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeRegistry('SQLite', sqliteFactory);
describeRegistry('PostgreSQL 15', postgresFactory(usePostgres(), 'registry'));
