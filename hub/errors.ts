import { ERRORS, type HttpErrorCode } from '../protocol/errors.js';

/**
 * The hub's coded errors. The catalogue is protocol/errors.ts (one for hub, gateway, config and
 * screens); the API error middleware maps an RbError's `code` to its HTTP status there.
 */
export { ERRORS };
export type ErrorCode = HttpErrorCode;

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
