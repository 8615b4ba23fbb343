import { usePostgres } from '../../support/postgres.js';
import { describeAudit } from './audit.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeAudit('SQLite', sqliteFactory);
describeAudit('PostgreSQL 15', postgresFactory(usePostgres(), 'audit'));
