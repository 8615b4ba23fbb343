/**
 * Every coded error of Red Butler, one catalogue (as fastify's `lib/errors.js`): what the hub's REST API
 * answers (with the HTTP status), what a gateway reports in a command result, what the Socket.IO
 * handshake refuses with (`connect_error` → `err.data.code`), what config loading throws, and the one
 * code the screens make up themselves. Logs, results and screens show the code, so a user can search
 * for it; the screens key their words off it (web/src/i18n, `cmd.err.<code>`).
 *
 * `status` is the HTTP status where the code is an HTTP answer; codes that never travel over HTTP have
 * none. `where` says who produces it.
 */
import { COMMAND_ERRORS as C } from './commands.js';

export const ERRORS = {
  // REST API (hub/api): the error middleware answers `{error: {code, title, message}}` with `status`.
  RB_ERR_BAD_QUERY: { status: 400, where: 'api', title: 'Invalid query parameters' },
  RB_ERR_BAD_ID: { status: 400, where: 'api', title: 'Invalid id' },
  RB_ERR_BAD_SNAPSHOT: { status: 400, where: 'api', title: 'Invalid snapshot' },
  RB_ERR_BAD_CLIP: { status: 400, where: 'api', title: 'Invalid alarm clip' },
  RB_ERR_BAD_BODY: { status: 400, where: 'api', title: 'Invalid request body' },
  RB_ERR_UNAUTHENTICATED: { status: 401, where: 'api', title: 'Authentication required' },
  RB_ERR_TOKEN_REVOKED: { status: 401, where: 'api', title: 'Signed out: the refresh token was revoked or used already' },
  RB_ERR_FORBIDDEN: { status: 403, where: 'api', title: 'Outside your scope or role' },
  RB_ERR_RATE_LIMITED: { status: 429, where: 'api', title: 'Too many attempts; wait and try again' },
  RB_ERR_CONFLICT: { status: 409, where: 'api', title: 'Conflicts with an existing record' },
  RB_ERR_NOT_FOUND: { status: 404, where: 'api', title: 'Not found' },
  RB_ERR_TOO_LARGE: { status: 413, where: 'api', title: 'Body too large' },
  RB_ERR_UNKNOWN_DEVICE: { status: 404, where: 'api', title: 'Unknown device' },
  RB_ERR_UNKNOWN_GATEWAY: { status: 404, where: 'api', title: 'Unknown gateway' },
  RB_ERR_UNKNOWN_STREET: { status: 404, where: 'api', title: 'Unknown street' },
  RB_ERR_UNKNOWN_GRID: { status: 404, where: 'api', title: 'Unknown grid' },
  RB_ERR_UNKNOWN_USER: { status: 404, where: 'api', title: 'Unknown user' },
  RB_ERR_GATEWAY_REVOKED: { status: 409, where: 'api', title: 'Gateway revoked' },
  RB_ERR_ALERT_STATE: { status: 409, where: 'api', title: 'Not possible in the current state of the alert' },
  RB_ERR_STORE_UNAVAILABLE: { status: 503, where: 'api', title: 'Event store unavailable' },
  RB_ERR_FENCED: { status: 503, where: 'api', title: "A partition's lease moved to another hub node: this node's write was refused (fencing); the new owner does the work" },
  RB_ERR_CLUSTER_UNAVAILABLE: { status: 503, where: 'api', title: "The cluster's Redis (cluster.redisUrl) is unreachable: commands cannot reach gateways" },
  RB_ERR_COMMAND_TIMEOUT: { status: 504, where: 'api', title: 'No result from the gateway in time' },
  RB_ERR_INTERNAL: { status: 500, where: 'api', title: 'Internal error' },
  RB_ERR_ACK_LINK_INVALID: { status: 403, where: 'api', title: 'This acknowledge link is not valid (forged, altered, or not an acknowledge link)' },
  RB_ERR_ACK_LINK_EXPIRED: { status: 410, where: 'api', title: 'This acknowledge link has expired; open the alert on the hub instead' },
  RB_ERR_AUTH_NOT_CONFIGURED: { status: 503, where: 'api', title: 'Authentication is not configured' },
  // Socket.IO handshake (hub/push): besides UNAUTHENTICATED, TOKEN_REVOKED and FORBIDDEN above.
  RB_ERR_UNAVAILABLE: { status: 503, where: 'socket', title: 'The hub is stopping; reconnect later' },
  // Command results a gateway reports: their meanings are the gateway's default result messages
  // (protocol/commands.ts COMMAND_ERRORS, which the result schema's enum is built from; UNKNOWN_DEVICE above too).
  RB_ERR_CMD_INVALID: { where: 'command', title: C.RB_ERR_CMD_INVALID },
  RB_ERR_CMD_UNSUPPORTED: { where: 'command', title: C.RB_ERR_CMD_UNSUPPORTED },
  RB_ERR_CMD_EXPIRED: { where: 'command', title: C.RB_ERR_CMD_EXPIRED },
  RB_ERR_DEVICE_FAILED: { where: 'command', title: C.RB_ERR_DEVICE_FAILED },
  RB_ERR_DEVICE_TIMEOUT: { where: 'command', title: C.RB_ERR_DEVICE_TIMEOUT },
  // Config loading (lib/config-errors.ts): every invalid key at once, with its path.
  RB_ERR_CONFIG: { where: 'config', title: 'Invalid configuration' },
  // Notification channels (hub/notify): a send that failed, as the outbox row records it. Retryable
  // ones are tried again with backoff; the others fail the row at once and the next channel is tried.
  RB_ERR_NOTIFY_UNAVAILABLE: { where: 'notify', title: 'The provider failed or could not be reached (retried)' },
  RB_ERR_NOTIFY_TIMEOUT: { where: 'notify', title: 'The provider did not answer in time (retried)' },
  RB_ERR_NOTIFY_RATE_LIMITED: { where: 'notify', title: 'The provider rate-limited the sender (retried later)' },
  RB_ERR_NOTIFY_AUTH: { where: 'notify', title: 'The provider refused the credentials or the signature' },
  RB_ERR_NOTIFY_TEMPLATE: { where: 'notify', title: 'The provider does not know the template or the sign name' },
  RB_ERR_NOTIFY_REJECTED: { where: 'notify', title: 'The provider refused the message or the recipient' },
  RB_ERR_NOTIFY_GONE: { where: 'notify', title: 'The recipient address no longer exists (e.g. an expired push subscription)' },
  // Rows the outbox itself records as not sent (hub/notify/dispatcher.ts, notifier.ts).
  RB_ERR_NOTIFY_CAPPED: { where: 'notify', title: 'Not sent: over the fan-out cap of one alert (notify.maxPerAlert)' },
  RB_ERR_NOTIFY_NO_CHANNEL: { where: 'notify', title: 'Not sent: no configured channel has that id (notify.channels)' },
  RB_ERR_NOTIFY_NOT_NEEDED: { where: 'notify', title: 'Not sent: the alert was acknowledged or resolved, or the person was told at the edge' },
  // Live video (hub/video, gateway/video; protocol/video.ts): what a viewer's or a relay's WebSocket is told.
  RB_ERR_GATEWAY_OFFLINE: { where: 'video', title: "The camera's gateway has no video relay link to this hub node right now" },
  RB_ERR_CAMERA_UNREACHABLE: { where: 'video', title: "The gateway could not pull the camera's stream (unreachable, refused, no H.264, or timed out)" },
  RB_ERR_VIDEO_CAP: { where: 'video', title: 'Over a live-video cap (video.maxViewersPerStream, maxStreamsPerEstate, maxBytesPerSecondPerEstate, or the gateway\'s video.maxStreams)' },
  RB_ERR_VIDEO_BROKEN: { where: 'video', title: 'The stream broke its limits (a segment over video.maxSegmentBytes, a stall, bytes that are not MP4) and was stopped' },
  // Made up by the screens (web/src/commands.ts): no command:result arrived while the screen waited.
  RB_ERR_NO_RESULT: { where: 'web', title: 'No result reached the screen in time' },
} as const satisfies Record<`RB_ERR_${string}`, { status?: number; where: 'api' | 'socket' | 'command' | 'config' | 'web' | 'notify' | 'video'; title: string }>;

export type ErrorCode = keyof typeof ERRORS;
/** Codes the REST API answers with (those with an HTTP status). */
export type HttpErrorCode = { [K in ErrorCode]: (typeof ERRORS)[K] extends { status: number } ? K : never }[ErrorCode];
/** Codes a Socket.IO handshake is refused with (`connect_error`, `err.data.code`). */
export type HandshakeErrorCode = 'RB_ERR_UNAUTHENTICATED' | 'RB_ERR_TOKEN_REVOKED' | 'RB_ERR_FORBIDDEN' | 'RB_ERR_UNAVAILABLE';

/** Every REST error answer: `{error: {code, title, message}}`. */
export interface ErrorBody {
  error: { code: ErrorCode; title?: string; message: string; details?: unknown };
}

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERRORS, code);
