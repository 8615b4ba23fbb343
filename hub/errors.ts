/**
 * The hub's coded errors, one catalogue. The API error middleware maps `code` to an HTTP status; the
 * code also appears in logs and in command results, so a user can search for it.
 */
export const ERRORS = {
  RB_ERR_BAD_QUERY: { status: 400, title: 'Invalid query parameters' },
  RB_ERR_BAD_ID: { status: 400, title: 'Invalid id' },
  RB_ERR_BAD_SNAPSHOT: { status: 400, title: 'Invalid snapshot' },
  RB_ERR_BAD_BODY: { status: 400, title: 'Invalid request body' },
  RB_ERR_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  RB_ERR_TOKEN_REVOKED: { status: 401, title: 'Signed out: the refresh token was revoked or used already' },
  RB_ERR_FORBIDDEN: { status: 403, title: 'Outside your scope or role' },
  RB_ERR_RATE_LIMITED: { status: 429, title: 'Too many attempts; wait and try again' },
  RB_ERR_CONFLICT: { status: 409, title: 'Conflicts with an existing record' },
  RB_ERR_NOT_FOUND: { status: 404, title: 'Not found' },
  RB_ERR_TOO_LARGE: { status: 413, title: 'Body too large' },
  RB_ERR_UNKNOWN_DEVICE: { status: 404, title: 'Unknown device' },
  RB_ERR_UNKNOWN_GATEWAY: { status: 404, title: 'Unknown gateway' },
  RB_ERR_UNKNOWN_STREET: { status: 404, title: 'Unknown street' },
  RB_ERR_UNKNOWN_GRID: { status: 404, title: 'Unknown grid' },
  RB_ERR_UNKNOWN_USER: { status: 404, title: 'Unknown user' },
  RB_ERR_GATEWAY_REVOKED: { status: 409, title: 'Gateway revoked' },
  RB_ERR_ALERT_STATE: { status: 409, title: 'Not possible in the current state of the alert' },
  RB_ERR_STORE_UNAVAILABLE: { status: 503, title: 'Event store unavailable' },
  RB_ERR_COMMAND_TIMEOUT: { status: 504, title: 'No result from the gateway in time' },
  RB_ERR_INTERNAL: { status: 500, title: 'Internal error' },
  RB_ERR_AUTH_NOT_CONFIGURED: { status: 503, title: 'Authentication is not configured' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class RbError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RbError';
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}
