import { createMemoryOutbox } from '../../../gateway/outbox.js';
import { describeOutbox } from './contract.js';

// The reference implementation: nothing persists, so the suite skips its reopen tests.
describeOutbox('memory', async (opts) => ({ outbox: createMemoryOutbox(opts), cleanup: async () => {} }));
