import { badRequest } from './errors.js';

/** The close a management call asks for: AWS's (1000 "Connection Closed Normally") unless `code`/`reason` say otherwise. */
export interface CloseParams {
  code: number;
  reason: string;
}

export const AWS_DELETE_CLOSE: CloseParams = { code: 1000, reason: 'Connection Closed Normally' };

/**
 * Reads `code` (1000 or 4000–4999: the application range) and `reason` (at most 123 bytes of
 * UTF-8, the room a close frame has) from a query string. Invalid values throw a 400 so that
 * nothing is closed with a code the caller did not mean.
 */
export function closeParams(query: URLSearchParams): CloseParams {
  for (const name of ['code', 'reason']) {
    if (query.getAll(name).length > 1) throw badRequest(`"${name}" is given more than once`);
  }
  const codeText = query.get('code');
  const reason = query.get('reason');
  if (codeText === null && reason === null) return AWS_DELETE_CLOSE;
  let code = 1000;
  if (codeText !== null) {
    if (!/^\d{4}$/.test(codeText)) throw badRequest(`Invalid close code "${codeText}": expected 1000 or 4000-4999`);
    code = Number(codeText);
    if (code !== 1000 && (code < 4000 || code > 4999)) throw badRequest(`Invalid close code ${code}: expected 1000 or 4000-4999`);
  }
  if (reason !== null && Buffer.byteLength(reason) > 123) throw badRequest(`Close reason is ${Buffer.byteLength(reason)} bytes of UTF-8; the maximum is 123`);
  return { code, reason: reason ?? (code === 1000 ? AWS_DELETE_CLOSE.reason : '') };
}
