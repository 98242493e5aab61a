import type { IncomingMessage } from 'node:http';
import type { Connection } from '../connection/connection.js';
import type { AuthorizeOutcome } from '../connection/lifecycle.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { HandshakeInfo } from '../events/events.js';
import type { SigV4Verifier } from './sigv4.js';

const EMPTY = new Uint8Array(0);
const FORBIDDEN: AuthorizeOutcome = { ok: false, status: 403, message: 'Forbidden' };

/**
 * `authorizationType: AWS_IAM` on $connect: the handshake must be SigV4-signed for
 * `execute-api` by a configured key, in the presigned query form browsers and SDK presigners
 * use (the header form is accepted too). The signer becomes the connection's principal and
 * appears in `requestContext.identity` (accessKey, caller, user), as IAM callers do on AWS.
 */
export function iamHandshake(verifier: SigV4Verifier, logLimiter: LogLimiter) {
  return async (conn: Connection, _hs: HandshakeInfo, req: IncomingMessage, rawPath: string, rawQuery: string): Promise<AuthorizeOutcome> => {
    const v = await verifier.verify({ method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers, body: EMPTY });
    if (!v.ok) {
      logLimiter.log('info', `iam-refused:${v.errorType}`, { connectionId: conn.id, error: v.errorType, reason: v.message }, 'handshake refused: AWS_IAM signature not valid');
      return FORBIDDEN;
    }
    conn.identity.accessKey = v.accessKeyId;
    conn.identity.caller = v.accessKeyId;
    conn.identity.user = v.accessKeyId;
    return { ok: true, principalId: v.accessKeyId };
  };
}
