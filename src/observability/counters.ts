/**
 * Metric-ready counters: every refusal, throttle and fault the gateway answers is counted here
 * by name and one bounded label (a limit's config key, a reason, a close code), never by
 * connection id, principal or group. Plain numbers in a map, so the hot path pays one
 * increment; a metrics exporter reads `snapshot()`.
 *
 * Names in use (label in brackets):
 *   rejected[limit]           work refused by a limit: the config key that refused it
 *                             (`limits.inflightPerConnection`, `routeSettings`, `limits.maxConnections`,
 *                             `limits.sendBufferTotalBytes`, `limits.handshakeTimeoutMs`,
 *                             `limits.httpIntegrationQueue`, `limits.messageBytes` (an answer too large),
 *                             `limits.handshakeAnswerBytes`, `maxConcurrency` (a worker function's calls), …)
 *   closed[cause]             closes the gateway started, by cause of the CLOSE table
 *   handshakeRefused[status]  handshakes refused before $connect ran, by HTTP status
 *   managementRefused[status] management calls refused, by HTTP status
 *   internalErrors[where]     unexpected faults caught by a last-resort guard (message, close, error,
 *                             answer, failure, connect, handshake, management, admin)
 *   malformedAnswers[field]   integration answers the gateway would not use as given
 *                             (`Sec-WebSocket-Protocol`, `header`, `statusCode`)
 *   integrationAborted[type]  integration calls past their deadline (http: the request is cancelled;
 *                             handler: abandoned, its answer dropped, as a handler cannot be stopped)
 *   integrationFailed[cause]  message integrations that failed (`error`) or timed out (`timeout`)
 *   undelivered[outcome]      route responses and error frames a client could not be sent
 *                             (`full`: its send buffer or the node's budget; `gone`: it left)
 *   logsSuppressed[key]       log lines folded into a rate-limited summary
 *   badRequests[status]       connections the HTTP parser refused (400 not HTTP, 431 head too
 *                             large, 408 request past Node's requestTimeout)
 *   acceptErrors[code]        failed accepts on the listening socket (EMFILE: out of descriptors)
 *   tlsRefused[reason]        TLS connections dropped before HTTP (`plaintext`: ws:// or http:// on the
 *                             TLS port; `handshake`: a failed handshake)
 *   callbackUnresolved        handler callbacks to an execute-api hostname that did not resolve
 *                             (an API id or region other than this gateway's)
 *   fdLimitNear               checks that found open descriptors at 90 % of the soft limit
 *   adminRefused[status]      admin listener requests refused (401 no/wrong token, 404, 405, 408, 413, 400),
 *                             and admin API calls refused as on the management API (400, 413, 429)
 *   clusterNodesReaped        cluster mode: dead nodes this node reaped
 *   clusterDeadDisconnects    cluster mode: $disconnect routes run here for connections of dead nodes
 *   clusterStaleRequests      cluster mode: bus requests dropped as older than their deadline
 *   clusterResubscribes       cluster mode: subscribers recreated because the node's own probe stopped arriving
 *   workerCrashes[reason]     handler worker threads ended and replaced: `timeout` (terminated at the
 *                             call's deadline), `error` (uncaught exception), `exit` (process.exit),
 *                             `oom` (over workers.maxOldGenerationSizeMb)
 */
export class Counters {
  private readonly values = new Map<string, number>();

  /** Adds `by` (default 1) to `name`, under `label` when given. */
  inc(name: string, label?: string | number, by = 1): void {
    const key = label === undefined ? name : `${name}{${label}}`;
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** The current value of `name` (with `label`), 0 when never counted. */
  get(name: string, label?: string | number): number {
    return this.values.get(label === undefined ? name : `${name}{${label}}`) ?? 0;
  }

  /** Every counter as `name` or `name{label}` → value. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}
