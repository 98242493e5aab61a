import { BusOverloaded, BusUnavailable, BusUnconfirmed } from '../bus/bus.js';
import { RegistryUnavailable } from '../registry/registry.js';
import type { Reply } from '../shared/reply.js';

/**
 * An error answered the way AWS answers it (restJson1): the status, `x-amzn-ErrorType` (which
 * the SDKs use to pick the exception class, never the status) and a JSON `{"message"}` body.
 * `message: null` sends an empty body, as AWS does for 410 GoneException.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string | null,
  ) {
    super(message ?? '');
    this.bodyless = message === null;
  }
  readonly bodyless: boolean;
}

export const gone = () => new ApiError(410, 'GoneException', null);
export const badRequest = (message: string) => new ApiError(400, 'BadRequestException', message);
export const forbidden = (message = 'Forbidden') => new ApiError(403, 'ForbiddenException', message);
export const payloadTooLarge = (limit: number) => new ApiError(413, 'PayloadTooLargeException', `Request payload is larger than the maximum of ${limit} bytes`);
export const limitExceeded = (message: string) => new ApiError(429, 'LimitExceededException', message);
/** Nothing was attempted (the registry or the bus cannot reach the connection's node): safe to retry. */
export const serviceUnavailable = (message = 'Service Unavailable: the connection\'s node cannot be reached right now; nothing was done, retry later') => new ApiError(503, 'ServiceUnavailableException', message);
/** Attempted, but no node confirmed the outcome in time. */
export const unconfirmed = () => new ApiError(500, 'InternalServerErrorException', 'Delivery not confirmed: the operation may have been delivered; retry only if a duplicate is acceptable');

/**
 * The AWS answer for a bus or registry failure, or undefined for any other error: too many bus
 * requests in flight → 429, nothing attempted (bus or registry unreachable) → 503, attempted with
 * an unknown outcome → 500.
 */
export function busFailure(err: unknown): ApiError | undefined {
  if (err instanceof BusOverloaded) return limitExceeded('Too many operations in flight on this node; retry later');
  if (err instanceof BusUnavailable || err instanceof RegistryUnavailable) return serviceUnavailable();
  if (err instanceof BusUnconfirmed) return unconfirmed();
  return undefined;
}

/** Writes an ApiError with AWS's headers. */
export function sendError(res: Reply, err: ApiError, requestId: string): void {
  const body = err.bodyless ? '' : JSON.stringify({ message: err.message });
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': err.errorType,
  });
  res.end(body);
}

/** Writes a JSON success answer. */
export function sendJson(res: Reply, status: number, value: unknown, requestId: string): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId });
  res.end(body);
}

/** Writes an empty success answer (200 for PostToConnection, 204 for DeleteConnection). */
export function sendEmpty(res: Reply, status: number, requestId: string): void {
  res.writeHead(status, status === 204 ? { 'x-amzn-requestid': requestId } : { 'content-type': 'application/json', 'content-length': 0, 'x-amzn-requestid': requestId });
  res.end();
}
