import type { AdminRoute } from './admin-server.js';
import { sendAdminJson } from './admin-server.js';

/** What the observability routes read. */
export interface ObservabilityRouteDeps {
  /** Prometheus text exposition of this gateway's metrics. */
  metricsText(): Promise<string>;
  /** The Prometheus content type of that text. */
  metricsContentType: string;
  /** Ready for new clients: listening and not draining (and, in cluster mode, its registry reachable). */
  isReady(): boolean;
  /** `/metrics` asks for the admin token (default true). */
  metricsAuth: boolean;
}

/**
 * `/health` (alive: 200 `{"status":"ok"}`), `/ready` (200 `{"status":"ready"}`, 503
 * `{"status":"draining"}` once draining starts) and `/metrics` (Prometheus text). Health and
 * readiness never ask for the token: load balancers probe them without one.
 */
export function observabilityRoutes(d: ObservabilityRouteDeps): AdminRoute[] {
  return [
    { method: 'GET', path: '/health', auth: false, handle: ({ res }) => sendAdminJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/ready',
      auth: false,
      handle: ({ res }) => (d.isReady() ? sendAdminJson(res, 200, { status: 'ready' }) : sendAdminJson(res, 503, { status: 'not ready' })),
    },
    {
      method: 'GET',
      path: '/metrics',
      auth: d.metricsAuth,
      handle: async ({ res }) => {
        const text = await d.metricsText();
        res.writeHead(200, { 'content-type': d.metricsContentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(text);
      },
    },
  ];
}
