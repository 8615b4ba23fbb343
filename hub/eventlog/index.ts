export { createEventLog, type EventLog, type LogEntry, type LogEntryInput, type LogRetention, type PruneResult } from './log.js';
export { createLogFeed, entryOf, type LogFeed, type LogFeedOptions } from './feed.js';
export { startLogRetention, type LogRetentionRunner } from './retention.js';
