import { usePostgres } from '../../support/postgres.js';
import { describeContacts } from './contacts.contract.js';
import { postgresFactory, sqliteFactory } from './support.js';

describeContacts('SQLite', sqliteFactory);
describeContacts('PostgreSQL 15', postgresFactory(usePostgres(), 'contacts'));
