import { usePostgres } from '../../support/postgres.js';
import { describeCommands } from './commands.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeCommands('SQLite', sqliteFactory);
describeCommands('PostgreSQL 15', postgresFactory(usePostgres(), 'commands'));
