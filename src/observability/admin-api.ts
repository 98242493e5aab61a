import type { Bus } from '../bus/bus.js';
import { newRequestId } from '../connection/ids.js';
import { answerFailure, connectionRoutes, type ManagementCall, type ManagementRoute } from '../management/api.js';
import { payloadTooLarge, sendJson } from '../management/errors.js';
import { extensionRoutes, type ExtensionDeps } from '../management/extensions.js';
import type { Registry } from '../registry/registry.js';
import type { AdminRequest, AdminRoute } from './admin-server.js';
import type { Counters } from './counters.js';
import type { LogLimiter } from './log-limiter.js';
import type { TrafficTotals } from './metrics.js';

/** What the dashboard polls: the open connections, and traffic totals since start (messages and bytes in and out), so it can compute rates from two readings. */
export interface AdminStats extends TrafficTotals {
  /** Open connections on this node. */
  connections: number;
}

export interface AdminApiDeps {
  registry: Registry;
  bus: Bus;
  /** The gateway's nodes, for `GET /api/nodes`. */
  nodes: ExtensionDeps['nodes'];
  /** Largest payload a send accepts (`limits.messageBytes`), 413 beyond, as on the management API. */
  messageBytes: number;
  stats(): AdminStats | Promise<AdminStats>;
  counters: Counters;
  logLimiter: LogLimiter;
}

/** `['@groups', ':group', 'connections']` → `/api/groups/:group/connections`. */
function adminPath(pattern: string[]): string {
  return `/api/${pattern.map((s) => (s.startsWith('@') ? s.slice(1) : s)).join('/')}`;
}

/**
 * The admin JSON API: the management API's operations (AWS's three connection calls and every
 * extension) under `/api/…` of the admin listener, authenticated by the admin token instead of
 * SigV4, plus `GET /api/stats`. Each route runs the very handler the SigV4 API runs, so answers,
 * error bodies and statuses are the same (400 bad code/reason, 410 gone, 413 too large, 429 full):
 *
 *   GET    /api/connections[?principal=&group=&search=&limit=&nextToken=]   list, search
 *   GET|POST|DELETE /api/connections/{id}[?code=&reason=]                   get, send, close
 *   GET    /api/principals/{p}/connections    POST|DELETE /api/principals/{p}
 *   GET    /api/groups/{g}/connections        POST|DELETE /api/groups/{g}
 *   PUT|DELETE /api/groups/{g}/connections/{id}
 *   POST   /api/broadcast
 *   GET    /api/stats                          {connections, messagesIn, messagesOut, bytesIn, bytesOut, at}
 */
export function adminApiRoutes(d: AdminApiDeps): AdminRoute[] {
  const serve = (r: AdminRequest, handle: ManagementRoute['handle']): Promise<void> => {
    const requestId = newRequestId();
    return (async () => {
      if (r.body.length > d.messageBytes) throw payloadTooLarge(d.messageBytes);
      const call: ManagementCall = { method: r.method, params: r.params, query: r.query, body: r.body, requestId, res: r.res, accessKeyId: undefined };
      await handle(call);
    })().catch((err: unknown) => answerFailure(err, r.res, { requestId, method: r.method, path: r.path, api: 'admin', counters: d.counters, logLimiter: d.logLimiter }));
  };
  const stats: ManagementRoute['handle'] = async (c) => sendJson(c.res, 200, { ...(await d.stats()), at: Date.now() }, c.requestId);
  return [
    ...[...connectionRoutes(d.bus), ...extensionRoutes(d)].map((m) => ({ method: m.method, path: adminPath(m.pattern), auth: true, handle: (r: AdminRequest) => serve(r, m.handle) })),
    { method: 'GET', path: '/api/stats', auth: true, handle: (r) => serve(r, stats) },
  ];
}
