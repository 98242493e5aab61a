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
    // Listeners stay on the request once it is settled (it ends with its answer) and ignore
    // what comes after: cheaper than removing four listeners per call.
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settle();
        discardBody(req, rules);
        reject(rules.tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      if (settled) return;
      settle();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onClose = () => {
      if (settled) return;
      settle();
      reject(rules.incomplete());
    };
    const onTimeout = () => {
      if (settled) return;
      settle();
      chunks = [];
      req.resume(); // whatever still trickles in before the socket closes is dropped
      rules.timedOut(req);
      res.setHeader('connection', 'close'); // the rest of this body would otherwise be read as the next request
      reject(rules.timeout());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
    // The deadline is armed once the packet that carried the head has been parsed: a body that
    // came with its head (most calls) is complete by then and costs no timer. It runs from then.
    process.nextTick(() => {
      if (!settled && !req.complete) timer = setTimeout(onTimeout, rules.timeoutMs);
    });
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
