/**
 * An integration delivers an AWS-shaped event to a backend and returns what the backend
 * answered, raw. Interpreting the answer (proxy response, authorizer policy) is the caller's
 * business, so one integration type serves routes and authorizers alike.
 */
export interface Integration {
  /** For logs: `handler ./handlers/chat.ts#send` or `http http://…`. */
  readonly description: string;
  /** The label of counters about this integration (`integrationAborted{http}`). */
  readonly kind: 'handler' | 'worker' | 'http' | 'httpProxy' | 'lambda' | 'mock';
  /**
   * Whether aborting a call's signal cancels it. An HTTP call is cancelled (the request is
   * aborted, or never sent when still queued). An in-process handler cannot be stopped: at its
   * deadline the client is answered and the in-flight slot freed, the handler runs on and its
   * answer is dropped. Callers create no AbortController for integrations that ignore it.
   */
  readonly abortable: boolean;
  /**
   * Delivers the event; rejects with IntegrationTimeout after `timeoutMs` (a deadline for the
   * whole call, at which it is cancelled when it can be), or with the backend's error. `signal`
   * cancels it earlier.
   */
  invoke(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): Promise<unknown>;
  /**
   * Starts a delivery without enforcing the timeout (the caller does: the message hot path
   * tracks in-flight calls in one set instead of a timer and a wrapper promise per message, and
   * aborts `signal` at the deadline). Returns the answer itself when the backend answered
   * synchronously, else a promise; throws when a synchronous handler throws.
   */
  start(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): unknown;
}

/** The integration did not answer in time (clients see "Endpoint request timed out"). */
export class IntegrationTimeout extends Error {
  override name = 'IntegrationTimeout';
  constructor(readonly timeoutMs: number) {
    super(`integration timed out after ${timeoutMs} ms`);
  }
}

/**
 * A call refused by a limit before or while talking to the backend (queue full, answer too
 * large). `limit` is the config key; clients see "Internal server error" (502 on $connect),
 * as AWS answers an integration failure.
 */
export class IntegrationRefused extends Error {
  override name = 'IntegrationRefused';
  constructor(
    readonly limit: string,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves with `p`, or rejects with IntegrationTimeout when `ms` passes first. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new IntegrationTimeout(ms)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** True for promises and other thenables. */
export function isThenable(v: unknown): v is Promise<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as Promise<unknown>).then === 'function';
}
