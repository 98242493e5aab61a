import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { ROOT, startGateway } from '../helpers/gateway.js';

// The admin dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core, which never downloads a browser). SB_SCREENSHOTS=1 rewrites the screenshots
// in docs/ that the README shows; a plain run leaves docs alone.

const H = './handlers.ts';
const TOKEN = 'dashboard-test-token-0123456789';
const CHROMIUM = process.env.SB_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.SB_SCREENSHOTS === '1';
const XSS_UA = '<img src=x onerror="window.__pwned=1">';

async function connect(gw: Gateway, query = '', headers: Record<string, string> = {}): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.connect(`${gw.url}${query}`, { headers });
  const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
  return { c, id };
}

describe('admin dashboard in headless Chromium', () => {
  let gw: Gateway;
  let context: BrowserContext;
  let profile: string;

  before(async () => {
    gw = await startGateway({
      routes: { $connect: { handler: `${H}#connectAs` }, whoami: { handler: `${H}#whoami`, routeResponse: true }, echo: { handler: `${H}#echo`, routeResponse: true } },
      admin: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    profile = mkdtempSync(path.join(tmpdir(), 'sb-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    });
  });

  after(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    await gw?.close();
  });

  /** A fresh tab (sessionStorage is per tab), with the page's console errors collected. */
  async function open(hash: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${gw.adminUrl}/${hash}`);
    return { page, errors };
  }

  it('shows a connection with its principal and group, filters, sends to it and closes it with a code and reason; user agents render as text', async () => {
    const alice = await connect(gw, '?user=alice&groups=support', { 'user-agent': XSS_UA });
    const bob = await connect(gw, '?user=bob&groups=support,beta', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156' });
    const { page, errors } = await open(`#token=${TOKEN}`);
    try {
      // The token left the address bar at once, and is kept for the tab only.
      assert.equal(new URL(page.url()).hash, '');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard-admin-token')), TOKEN);

      const table = page.getByRole('table', { name: 'Connections' });
      await table.getByRole('button', { name: `Connection ${alice.id}` }).waitFor();
      await page.locator('#stat-connections', { hasText: '2' }).waitFor();
      const row = table.locator(`tr[data-connection-id="${alice.id}"]`);
      assert.equal(await row.locator('td.ua').textContent(), XSS_UA, 'the user agent is shown as text');
      assert.equal(await page.locator('img').count(), 0, 'no element was made from it');
      assert.equal(await page.evaluate(() => (window as any).__pwned), undefined, 'no handler ran');
      assert.equal(await row.getByRole('button', { name: 'Principal alice' }).count(), 1);
      assert.equal(await row.getByRole('button', { name: 'Group support' }).count(), 1);

      // Rates: a client talks, the numbers move without a reload.
      for (let i = 0; i < 20; i++) await bob.c.request({ action: 'echo', i });
      await page.waitForFunction(() => Number(document.getElementById('stat-in')!.textContent) > 0, undefined, { timeout: 15_000 });
      if (SHOTS) await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard.png') });

      // Filter by principal.
      await page.getByLabel('Principal', { exact: true }).fill('alice');
      await page.getByRole('button', { name: 'Filter' }).click();
      await table.getByRole('button', { name: `Connection ${bob.id}` }).waitFor({ state: 'detached' });
      assert.equal(await table.locator('tbody tr').count(), 1);

      // One connection: send it a message from the page.
      await table.getByRole('button', { name: `Connection ${alice.id}` }).click();
      await page.getByRole('heading', { name: `Connection ${alice.id}` }).waitFor();
      await page.getByLabel('Message', { exact: true }).fill('hello from the dashboard');
      await page.getByRole('button', { name: 'Send to connection' }).click();
      assert.equal((await alice.c.next(10_000)).text, 'hello from the dashboard');
      await page.getByRole('status').filter({ hasText: `sent to ${alice.id}` }).waitFor();
      if (SHOTS) await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard-connection.png'), fullPage: true });

      // Close it with a code and a reason.
      await page.getByLabel('Close code').fill('4002');
      await page.getByLabel('Close reason').fill('kicked from the dashboard');
      await page.getByRole('button', { name: 'Close connection' }).click();
      assert.deepEqual(await alice.c.waitClose(10_000), { code: 4002, reason: 'kicked from the dashboard' });
      await page.locator('#stat-connections', { hasText: '1' }).waitFor();
      assert.deepEqual(errors, []);
      assert.equal(bob.c.ws.readyState, 1, 'the other client is untouched');
    } finally {
      await page.close();
      alice.c.ws.terminate();
      bob.c.close();
      await until(() => gw.connectionCount() === 0, 'clients gone', 10_000);
    }
  });

  it('a principal and a group: their members, send to them, close them', async () => {
    const [c1, c2, other] = [await connect(gw, '?user=carol&groups=ops'), await connect(gw, '?user=carol'), await connect(gw, '?user=dan&groups=ops')];
    const { page, errors } = await open(`#token=${TOKEN}`);
    try {
      const table = page.getByRole('table', { name: 'Connections' });
      await table.locator(`tr[data-connection-id="${c1.id}"]`).getByRole('button', { name: 'Principal carol' }).click();
      await page.getByRole('heading', { name: 'Principal carol' }).waitFor();
      const members = page.getByRole('table', { name: 'Members' });
      assert.equal(await members.locator('tbody tr').count(), 2);
      await page.getByLabel('Message', { exact: true }).fill('to carol');
      await page.getByRole('button', { name: 'Send to principal' }).click();
      assert.equal((await c1.c.next(10_000)).text, 'to carol');
      assert.equal((await c2.c.next(10_000)).text, 'to carol');
      await page.getByRole('status').filter({ hasText: 'sent to 2' }).waitFor();

      await table.locator(`tr[data-connection-id="${other.id}"]`).getByRole('button', { name: 'Group ops' }).click();
      await page.getByRole('heading', { name: 'Group ops' }).waitFor();
      assert.equal(await members.locator('tbody tr').count(), 2);
      await page.getByLabel('Message', { exact: true }).fill('to ops');
      await page.getByRole('button', { name: 'Send to group' }).click();
      assert.equal((await c1.c.next(10_000)).text, 'to ops');
      assert.equal((await other.c.next(10_000)).text, 'to ops');
      await page.getByRole('button', { name: `Remove ${other.id} from ops` }).click();
      await members.locator('tbody tr').nth(1).waitFor({ state: 'detached' });

      await table.locator(`tr[data-connection-id="${c2.id}"]`).getByRole('button', { name: 'Principal carol' }).click();
      await page.getByRole('heading', { name: 'Principal carol' }).waitFor();
      await page.getByLabel('Close code').fill('4001');
      await page.getByLabel('Close reason').fill('password changed');
      await page.getByRole('button', { name: 'Close all of the principal' }).click();
      assert.deepEqual(await c1.c.waitClose(10_000), { code: 4001, reason: 'password changed' });
      assert.deepEqual(await c2.c.waitClose(10_000), { code: 4001, reason: 'password changed' });
      assert.equal(other.c.ws.readyState, 1);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      for (const x of [c1, c2, other]) x.c.ws.terminate();
      await until(() => gw.connectionCount() === 0, 'clients gone', 10_000);
    }
  });

  it('the broadcast box reaches every client', async () => {
    const one = await connect(gw);
    const two = await connect(gw);
    const { page, errors } = await open(`#token=${TOKEN}`);
    try {
      await page.locator('#stat-connections', { hasText: '2' }).waitFor();
      await page.getByLabel('Broadcast message').fill('maintenance in 5 minutes');
      await page.getByRole('button', { name: 'Broadcast', exact: true }).click();
      assert.equal((await one.c.next(10_000)).text, 'maintenance in 5 minutes');
      assert.equal((await two.c.next(10_000)).text, 'maintenance in 5 minutes');
      await page.getByRole('status').filter({ hasText: 'broadcast sent to 2' }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      one.c.close();
      two.c.close();
      await until(() => gw.connectionCount() === 0, 'clients gone', 10_000);
    }
  });

  it('a wrong token shows an error and lists nothing; the right one typed in then works', async () => {
    const watched = await connect(gw, '?user=erin');
    const { page } = await open('#token=not-the-admin-token-at-all');
    try {
      await page.getByRole('alert').filter({ hasText: '401' }).waitFor();
      assert.equal(await page.locator('#connections tbody tr').count(), 0);
      assert.equal(await page.getByText(watched.id).count(), 0);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard-admin-token')), null, 'a refused token is not kept');
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: `Connection ${watched.id}` }).waitFor();
    } finally {
      await page.close();
      watched.c.close();
    }
  });

  it('serves the page with a Content-Security-Policy that forbids inline script, and the API only with the token', async () => {
    const res = await fetch(`${gw.adminUrl}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await res.text(), /<title>Switchboard admin<\/title>/);
    assert.equal((await fetch(`${gw.adminUrl}/api/connections`)).status, 401);
  });
});
