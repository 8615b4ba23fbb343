import { usePostgres } from '../../support/postgres.js';
import { postgresFactory, sqliteFactory } from '../platform/support.js';
import { describeWorkOrders } from './service.contract.js';

describeWorkOrders('SQLite', sqliteFactory);
describeWorkOrders('PostgreSQL 15', postgresFactory(usePostgres(), 'orders'));
