import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ROOT, startGateway } from '../helpers/gateway.js';
import { scrape } from '../helpers/metrics.js';

it('docs/grafana-dashboard.json is a dashboard whose every query names a metric the gateway exposes', async () => {
  const dash = JSON.parse(readFileSync(path.join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8'));
  assert.equal(typeof dash.title, 'string');
  assert.ok(Array.isArray(dash.panels) && dash.panels.length >= 10);
  const token = 'dashboard-test-token-0123456789';
  const gw = await startGateway({ routes: { $default: { handler: './handlers.ts#echo' } }, admin: { port: 0, token } });
  try {
    const s = await scrape(gw, token);
    const names = new Set<string>();
    for (const p of dash.panels) {
      assert.ok(p.targets.length > 0, p.title);
      for (const t of p.targets) for (const m of (t.expr as string).matchAll(/([A-Za-z_][A-Za-z0-9_]*)\{/g)) names.add(m[1]!.replace(/_bucket$/, ''));
    }
    for (const want of ['ConnectCount', 'MessageCount', 'ClientError', 'IntegrationError', 'ExecutionError', 'IntegrationLatency', 'switchboard_rejected_total', 'switchboard_send_buffer_bytes', 'switchboard_event_loop_lag_seconds']) {
      assert.ok(names.has(want), `the dashboard shows ${want}`);
    }
    for (const n of names) assert.ok(s.has(n), `${n} is exposed at /metrics`);
  } finally {
    await gw.close();
  }
});
