import { readFileSync } from 'node:fs';
import type { Reply } from '../shared/reply.js';
import type { AdminRoute } from './admin-server.js';

/** The page's files, beside this module's folder: src/admin-ui (tsx) or dist/admin-ui (copied there by `npm run build`). */
const FILES: Array<[path: string, file: string, type: string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard.js', 'dashboard.js', 'text/javascript; charset=utf-8'],
  ['/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
];

/**
 * Same-origin scripts and styles only: even if data ever reached the page as markup, no inline
 * script or handler attribute (`onerror=`) would run. No framing (clickjacking), no referrer.
 */
const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function serveFile(res: Reply, body: Buffer, type: string): void {
  res.writeHead(200, { ...HEADERS, 'content-type': type, 'content-length': body.length });
  res.end(body);
}

/**
 * The admin dashboard at `/` of the admin listener: three static files, read on first use and
 * kept (a file missing from a broken install is a 500 on that request, never a failed start).
 * They hold no data, so they are served without the token; the page asks for it and sends it
 * with every `/api/…` call it makes.
 */
export function dashboardRoutes(dir: URL = new URL('../admin-ui/', import.meta.url)): AdminRoute[] {
  return FILES.map(([path, file, type]) => {
    let body: Buffer | undefined;
    return { method: 'GET', path, auth: false, handle: (r) => serveFile(r.res, (body ??= readFileSync(new URL(file, dir))), type) };
  });
}
