/**
 * Every close the gateway starts, in one table: the code and reason the client sees in its
 * close frame and `$disconnect` reports. Where AWS closes for the same cause, its code and text
 * are kept; the rest are Switchboard's own, chosen from RFC 6455's codes.
 *
 * | cause         | code | reason                             | when                                                         |
 * |---------------|------|------------------------------------|--------------------------------------------------------------|
 * | deleted       | 1000 | Connection Closed Normally         | DeleteConnection without code/reason (AWS)                   |
 * | idle          | 1001 | Going away                         | `limits.idleTimeoutSeconds` without traffic (AWS)            |
 * | maxDuration   | 1001 | Going away                         | `limits.maxConnectionSeconds` reached (AWS)                  |
 * | shutdown      | 1001 | Going away                         | the gateway drains (SIGTERM, `close()`)                      |
 * | protocol      | 1002 | Protocol error                     | the client broke the WebSocket protocol                      |
 * | binary        | 1003 | Binary frames are not supported    | a binary frame with `limits.binaryFrames: reject` (AWS)      |
 * | badUtf8       | 1007 | Invalid UTF-8                      | a text frame that is not UTF-8                               |
 * | slowConsumer  | 1008 | slow consumer                      | send buffer full for `limits.slowConsumerSeconds`            |
 * | tooBig        | 1009 | Message too big                    | over `limits.frameBytes` / `limits.messageBytes` (AWS)       |
 * | internalError | 1011 | Internal server error              | an unexpected fault while serving this connection            |
 *
 * A management caller may close with any code 1000 or 3000-4999 and its own reason instead.
 */
export const CLOSE = {
  deleted: { code: 1000, reason: 'Connection Closed Normally' },
  idle: { code: 1001, reason: 'Going away' },
  maxDuration: { code: 1001, reason: 'Going away' },
  shutdown: { code: 1001, reason: 'Going away' },
  protocol: { code: 1002, reason: 'Protocol error' },
  binary: { code: 1003, reason: 'Binary frames are not supported' },
  badUtf8: { code: 1007, reason: 'Invalid UTF-8' },
  slowConsumer: { code: 1008, reason: 'slow consumer' },
  tooBig: { code: 1009, reason: 'Message too big' },
  internalError: { code: 1011, reason: 'Internal server error' },
} as const;

/** The reason `$disconnect` reports when the client closed without a status code (1005). */
export const NO_STATUS_REASON = 'Client-side close frame status not set';
/** The reason `$disconnect` reports when the socket ended without a close frame (1006). */
export const ABNORMAL_REASON = 'Connection closed abnormally';
