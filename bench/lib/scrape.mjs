// A Prometheus-like scraper for metrics-on runs: GET /metrics with the bearer token every
// `everyMs` (1 s: fifteen times as often as Prometheus's default, so its cost is not hidden).
import { BENCH_ADMIN_TOKEN } from './servers.mjs';

/** Starts scraping `adminUrl`; returns a function that stops and resolves with the number of scrapes. */
export function startScraper(adminUrl, everyMs = 1000) {
  let scrapes = 0;
  let failures = 0;
  const timer = setInterval(async () => {
    try {
      const res = await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } });
      await res.text();
      if (res.status === 200) scrapes++;
      else failures++;
    } catch {
      failures++;
    }
  }, everyMs);
  return async () => {
    clearInterval(timer);
    if (failures > 0) throw new Error(`${failures} scrapes of ${adminUrl}/metrics failed`);
    return scrapes;
  };
}
