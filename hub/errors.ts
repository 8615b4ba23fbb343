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

/**
 * RB_ERR_BAD_QUERY naming every problem of the failed parses given (path and message each; an issue
 * without a path is named `fallback`), e.g. of a route's path parameter and of its query.
 */
export function badQueryOf(errors: ReadonlyArray<{ issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } | undefined>, fallback = 'query'): RbError {
  const words = errors.flatMap((e) => e?.issues ?? []).map((i) => `${i.path.map(String).join('.') || fallback}: ${i.message}`);
  return new RbError('RB_ERR_BAD_QUERY', words.join('; '));
}
