import type { IncomingMessage, ServerResponse } from 'node:http';

/** How a request body is read: a size limit, a deadline, and the caller's own answers for each refusal. */
export interface BodyRules {
  /** Largest body accepted; beyond it `tooLarge()`, the rest left unread. */
  limit: number;
  /** Time the whole body has to arrive once the head is in; beyond it `timeout()` and the connection closes. */
  timeoutMs: number;
  /** Counts and logs a missed deadline. */
  timedOut(req: IncomingMessage): void;
  /** The caller's errors (the management API answers in AWS's shape, the admin API in its own). */
  tooLarge(): Error;
  incomplete(): Error;
  timeout(): Error;
}

const EMPTY = Buffer.alloc(0);

/** Reads a request body within `rules`: never more than the limit in memory, never longer than the deadline. */
export function readBody(req: IncomingMessage, res: ServerResponse, rules: BodyRules): Promise<Buffer> {
  const { limit } = rules;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    discardBody(req, rules);
    return Promise.reject(rules.tooLarge());
  }
  if (declared === 0 && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      clearTimeout(timer);
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('close', onClose);
      req.removeListener('error', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        discardBody(req, rules);
        reject(rules.tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onClose = () => {
      done();
      reject(rules.incomplete());
    };
    const timer = setTimeout(() => {
      done();
      chunks = [];
      req.resume(); // whatever still trickles in before the socket closes is dropped
      rules.timedOut(req);
      res.setHeader('connection', 'close'); // the rest of this body would otherwise be read as the next request
      reject(rules.timeout());
    }, rules.timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}

/**
 * Drops a refused request's body unread, bounded by the body deadline: a sender that stalls
 * loses its connection then (the answer went out already).
 */
export function discardBody(req: IncomingMessage, rules: Pick<BodyRules, 'timeoutMs' | 'timedOut'>): void {
  req.resume();
  if (req.complete) return;
  const timer = setTimeout(() => {
    if (req.complete) return;
    rules.timedOut(req);
    req.socket.destroy();
  }, rules.timeoutMs);
  const clear = () => clearTimeout(timer);
  req.once('end', clear);
  req.once('close', clear);
}
