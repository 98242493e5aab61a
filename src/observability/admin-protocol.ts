/**
 * The messages between the gateway and its admin listener's HTTP thread. The thread owns the
 * sockets: it parses requests, routes them, checks the token, reads bodies within their limits
 * and answers every refusal itself; the gateway's thread sees only routed, authenticated
 * requests and answers them through `AdminReply`.
 *
 * Why a thread: HTTP requests served on the gateway's own thread run Node's socket and stream
 * code with objects of other shapes than the WebSocket connections do (a request, a response, a
 * socket owned by the HTTP parser). V8 then deoptimises that shared code and recompiles it for
 * both shapes, and every client frame pays for it from then on: a bare `ws` echo server measured
 * about 4 % more CPU per message once an HTTP server on its thread was probed once a second,
 * 1–3 % with the HTTP server on a thread of its own.
 */

/** A route as the HTTP thread knows it (the handler stays with the gateway). */
export interface AdminRouteShape {
  method: string;
  path: string;
  auth: boolean;
}

/** What the HTTP thread starts with (its `workerData`). */
export interface AdminThreadConfig {
  host: string;
  port: number;
  /** SHA-256 of the admin token; undefined: every route with `auth` is refused. */
  tokenHash: Uint8Array | undefined;
  routes: AdminRouteShape[];
  bodyBytes: number;
  bodyTimeoutMs: number;
}

/** HTTP thread → gateway. */
export type FromAdminThread =
  | { type: 'listening'; port: number }
  | { type: 'listenFailed'; message: string; code: string | undefined }
  /** A routed, authenticated request with its whole body: the gateway answers it with a `reply`. */
  | { type: 'request'; id: number; route: number; method: string; path: string; params: Record<string, string>; query: string; body: Uint8Array }
  /** The thread answered a refusal itself (404, 405, 401, 400, 408, 413): counted and logged by the gateway. */
  | { type: 'refused'; status: number; reason: string; method: string | undefined; path: string; sourceIp: string | undefined }
  /** A body missed its deadline and the connection was closed. */
  | { type: 'bodyTimeout'; method: string | undefined; sourceIp: string | undefined }
  /** The HTTP parser refused a connection's bytes (answered 400). */
  | { type: 'badRequest' }
  | { type: 'acceptFailed'; message: string; code: string | undefined }
  /** A fault in the thread's own code, answered 500. */
  | { type: 'failed'; message: string; method: string | undefined; path: string }
  | { type: 'closed' };

/** Gateway → HTTP thread. */
export type ToAdminThread =
  | { type: 'reply'; id: number; status: number; headers: Record<string, string | number>; body: string | Uint8Array | undefined }
  /** Cut the request's connection (a failure after its head was written). */
  | { type: 'destroy'; id: number }
  /** Stop listening, drop open connections, answer `closed`. */
  | { type: 'close' };
