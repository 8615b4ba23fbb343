/**
 * Commands to devices (migration `0007_commands`): one row per command the hub sent, with its state
 * and the gateway's answer, so the answer is recorded and pushed by whichever hub process is running
 * when it comes back (results arrive through the event log), not by a promise waiting in a route handler.
 */
export type CommandState = 'sent' | 'ok' | 'error' | 'expired';

export interface CommandsTable {
  id: string;
  estate: string;
  gateway: string;
  device: string;
  name: string;
  /** JSON object. */
  args: string;
  /** JSON: the command's actor `{id, name, role}`. */
  actor: string;
  issued_at: number;
  expires_at: number;
  state: CommandState;
  /** The gateway's error code or the hub's (RB_ERR_COMMAND_TIMEOUT; RB_ERR_CLUSTER_UNAVAILABLE when nothing could be sent). */
  code: string | null;
  /** JSON: the gateway's result, as it sent it. */
  result: string | null;
  finished_at: number | null;
}

export interface CommandsSchema {
  commands: CommandsTable;
}
