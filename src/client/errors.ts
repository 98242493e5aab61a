/** Error types the AWS Connection Management API (and Switchboard) answer, by HTTP status, for answers that carry no `x-amzn-ErrorType`. */
const BY_STATUS: Record<number, string> = {
  400: 'BadRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'NotFoundException',
  405: 'MethodNotAllowedException',
  410: 'GoneException',
  413: 'PayloadTooLargeException',
  429: 'LimitExceededException',
  500: 'InternalServerErrorException',
};

/**
 * A management call the gateway refused. `name` is the `x-amzn-ErrorType` the gateway answered
 * (`GoneException`, `BadRequestException`, `ForbiddenException`, `LimitExceededException`, …),
 * exactly as the AWS SDK names its exception classes, so `err.name === 'GoneException'` reads
 * the same with either client.
 */
export class SwitchboardError extends Error {
  /** The `x-amzn-ErrorType` of the answer (e.g. `GoneException`). */
  override readonly name: string;
  /** The HTTP status (410 for a connection that is not open). */
  readonly status: number;
  /** The gateway's `x-amzn-RequestId`, for finding the call in its logs. */
  readonly requestId: string | undefined;

  constructor(name: string, status: number, message: string, requestId?: string) {
    super(message);
    this.name = name;
    this.status = status;
    this.requestId = requestId;
  }

  /**
   * Builds the error for a non-2xx answer: the type from `x-amzn-ErrorType` (AWS may append
   * `:http://…`, which is dropped), else from the status; the message from the JSON body's
   * `message` (or `Message`), else a short default (410 answers have an empty body).
   */
  static fromResponse(status: number, errorTypeHeader: string | undefined, body: string, requestId?: string): SwitchboardError {
    const name = errorTypeHeader?.split(':')[0]?.trim() || BY_STATUS[status] || `Http${status}Error`;
    let message = '';
    if (body) {
      try {
        const parsed = JSON.parse(body) as { message?: unknown; Message?: unknown };
        const m = parsed.message ?? parsed.Message;
        if (typeof m === 'string') message = m;
      } catch {
        message = body.slice(0, 500);
      }
    }
    if (!message) message = status === 410 ? 'The connection is gone (not open)' : `${name} (HTTP ${status})`;
    return new SwitchboardError(name, status, message, requestId);
  }
}
