// A Prometheus-like scraper for metrics-on runs: GET /metrics with the bearer token every
// `everyMs` (1 s: fifteen times as often as Prometheus's default, so its cost is not hidden).
import { BENCH_ADMIN_TOKEN } from './servers.mjs';

/**
 * Starts scraping `adminUrl` (`path`: what is fetched, /metrics unless said); returns a function
 * that stops, throws when any request failed, and otherwise resolves with the number of scrapes.
 */
export function startScraper(adminUrl, everyMs = 1000, path = '/metrics') {
  let scrapes = 0;
  let failures = 0;
  const timer = setInterval(async () => {
    try {
      const res = await fetch(`${adminUrl}${path}`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } });
      await res.text();
      if (res.status === 200) scrapes++;
      else failures++;
    } catch {
      failures++;
    }
  }, everyMs);
  return async () => {
    clearInterval(timer);
    if (failures > 0) throw new Error(`${failures} requests to ${adminUrl}${path} failed`);
    return scrapes;
  };
}
