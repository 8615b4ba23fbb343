import { usePostgres } from '../../support/postgres.js';
import { describeDeadLetters } from './dead-letters.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeDeadLetters('SQLite', sqliteFactory);
describeDeadLetters('PostgreSQL 15', postgresFactory(usePostgres(), 'dead_letters'));
