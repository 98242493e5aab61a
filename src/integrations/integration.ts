/**
 * An integration delivers an AWS-shaped event to a backend and returns what the backend
 * answered, raw. Interpreting the answer (proxy response, authorizer policy) is the caller's
 * business, so one integration type serves routes and authorizers alike.
 */
export interface Integration {
  /** For logs: `handler ./handlers/chat.ts#send` or `http http://…`. */
  readonly description: string;
  /** Delivers the event; rejects with IntegrationTimeout after `timeoutMs`, or with the backend's error. */
  invoke(event: object, timeoutMs: number, functionName: string): Promise<unknown>;
  /**
   * Starts a delivery without enforcing the timeout (the caller does: the message hot path
   * tracks in-flight calls in one set instead of a timer and a wrapper promise per message).
   * Returns the answer itself when the backend answered synchronously, else a promise; throws
   * when a synchronous handler throws.
   */
  start(event: object, timeoutMs: number, functionName: string): unknown;
}

/** The integration did not answer in time (clients see "Endpoint request timed out"). */
export class IntegrationTimeout extends Error {
  override name = 'IntegrationTimeout';
  constructor(readonly timeoutMs: number) {
    super(`integration timed out after ${timeoutMs} ms`);
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
