/**
 * Where a handler writes its answer: a `node:http` ServerResponse (the management API on the
 * client listener), or the admin listener's relay to its HTTP thread. Only what handlers use.
 */
export interface Reply {
  /** true once the status line is decided: a failure found later can no longer be answered, only cut off. */
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number): unknown;
  writeHead(status: number, headers?: Record<string, string | number>): unknown;
  /** Sends the body (if any) and finishes the answer. */
  end(body?: string | Uint8Array): unknown;
  /** Cuts the connection: for a failure after the head went out. */
  destroy(): unknown;
}
