import { usePostgres } from '../../support/postgres.js';
import { describeSnapshots } from './snapshots.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeSnapshots('SQLite', sqliteFactory);
describeSnapshots('SQLite', sqliteFactory, 'database');
describeSnapshots('PostgreSQL 15', postgresFactory(usePostgres(), 'snapshots'));
