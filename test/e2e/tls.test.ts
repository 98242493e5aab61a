// TLS: `switchboard start --tls-self-signed` serves wss:// and https:// on one port with a
// generated certificate that clients trust through NODE_EXTRA_CA_CERTS; the AWS SDK v3 management
// client works against it from another process; handlers' own callback URLs work over TLS
// (inline, in the gateway process that was started without NODE_EXTRA_CA_CERTS); cleartext on the
// TLS port is dropped, counted and logged, and the handshake deadline still holds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { selfSignedCertificate } from '../../src/cli/self-signed.js';
import { createGateway, type Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { CREDS, eventsOf, FIXTURES, resetRecorded, ROOT } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';

/** Runs an ES module script in a child node process (so NODE_EXTRA_CA_CERTS takes effect at its start). */
function runNode(script: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    // --eval resolves bare specifiers from the working directory: the repository's node_modules.
    execFile(process.execPath, ['--input-type=module', '--eval', script], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

describe('TLS with a generated local certificate', () => {
  let gw: GatewayProcess;
  let certFile: string;
  let cert: string;
  const cache = mkdtempSync(path.join(tmpdir(), 'sb-tls-cache-'));

  before(async () => {
    gw = await startGatewayProcess(
      {
        limits: { handshakeTimeoutMs: 1500 },
        routes: {
          echo: { handler: './handlers.ts#echo', routeResponse: true },
          v3Api: { handler: './callbacks.mjs#v3Api', routeResponse: true, timeoutMs: 20_000 },
          v3Domain: { handler: './callbacks.mjs#v3Domain', routeResponse: true, timeoutMs: 20_000 },
          v2Domain: { handler: './callbacks.mjs#v2Domain', routeResponse: true, timeoutMs: 20_000 },
          fetchApi: { handler: './callbacks.mjs#fetchApi', routeResponse: true, timeoutMs: 20_000 },
          fetchDomain: { handler: './callbacks.mjs#fetchDomain', isolation: 'worker', routeResponse: true, timeoutMs: 20_000 },
        },
      },
      { args: ['--tls-self-signed'], env: { SWITCHBOARD_CACHE_DIR: cache, NODE_EXTRA_CA_CERTS: '' } },
    );
    const m = /NODE_EXTRA_CA_CERTS=(\S+)/.exec(gw.stdout());
    assert.ok(m, `a trust line in:\n${gw.stdout()}`);
    certFile = m[1]!;
    cert = readFileSync(certFile, 'utf8');
  });

  after(async () => {
    await gw?.stop();
  });

  it('prints wss:// on the first line and how to trust the certificate on a later one', () => {
    const lines = gw.stdout().split('\n');
    assert.match(lines[0]!, /^Switchboard listening on wss:\/\/127\.0\.0\.1:\d+\/dev$/);
    assert.ok(lines.findIndex((l) => l.includes('NODE_EXTRA_CA_CERTS=')) > 0);
    assert.ok(certFile.startsWith(cache), 'written to the cache directory');
    const san = new X509Certificate(cert).subjectAltName!;
    for (const name of ['DNS:localhost', 'DNS:*.execute-api.us-east-1.amazonaws.com', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']) assert.ok(san.includes(name), `${name} in ${san}`);
  });

  it('wss:// clients that trust the certificate connect and get answers; untrusting ones are refused', async () => {
    const c = await TestClient.connect(gw.url, { ca: cert });
    const msg = JSON.stringify({ action: 'echo', n: 1 });
    assert.equal((await c.request(msg, 20_000)).text, msg);
    await assert.rejects(TestClient.connect(gw.url), /self-signed certificate/);
    c.ws.close();
  });

  it('the AWS SDK v3 management client in another process, trusting it with NODE_EXTRA_CA_CERTS, posts and reads connections', async () => {
    const c = await TestClient.connect(gw.url, { ca: cert });
    const id = ((await c.request(JSON.stringify({ action: 'whoami-not-routed' }), 20_000)).text.match(/"connectionId":"([^"]+)"/) ?? [])[1];
    assert.ok(id, 'the error frame names the connection id');
    const script = `
      import { ApiGatewayManagementApiClient, PostToConnectionCommand, GetConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
      const client = new ApiGatewayManagementApiClient({ endpoint: ${JSON.stringify(gw.managementEndpoint)}, region: 'us-east-1', credentials: ${JSON.stringify(CREDS)}, maxAttempts: 1 });
      await client.send(new PostToConnectionCommand({ ConnectionId: ${JSON.stringify(id)}, Data: 'over https' }));
      const info = await client.send(new GetConnectionCommand({ ConnectionId: ${JSON.stringify(id)} }));
      console.log(JSON.stringify({ sourceIp: info.Identity.SourceIp }));
    `;
    const trusted = await runNode(script, { NODE_EXTRA_CA_CERTS: certFile });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.deepEqual(JSON.parse(trusted.stdout), { sourceIp: '127.0.0.1' });
    assert.equal((await c.next(20_000)).text, 'over https');
    const untrusted = await runNode(script, { NODE_EXTRA_CA_CERTS: '' });
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /self-signed certificate/);
    c.ws.close();
  });

  it("handlers' own callback URLs work over TLS (execute-api hostname, https://{domainName}/{stage}, SDK v2 without a scheme, signed fetch in-process and in a worker)", async () => {
    const c = await TestClient.connect(gw.url, { ca: cert });
    for (const [action, text] of [['v3Api', 'v3 api'], ['v3Domain', 'v3 domain'], ['v2Domain', 'v2 domain'], ['fetchApi', 'fetch api'], ['fetchDomain', 'fetch domain']] as const) {
      c.send({ action });
      assert.equal((await c.next(30_000)).text, text, action);
      assert.equal((await c.next(30_000)).text, 'sent', action);
    }
    c.ws.close();
  });

  it('plain ws:// and http:// on the TLS port are dropped, logged and counted; a wss:// bystander is served throughout', async () => {
    const bystander = await TestClient.connect(gw.url, { ca: cert });
    await assert.rejects(TestClient.connect(gw.url.replace(/^wss:/, 'ws:')));
    const answer = await new Promise<string>((resolve) => {
      const s = netConnect(gw.port, '127.0.0.1', () => s.write('GET /dev/@connections/x HTTP/1.1\r\nHost: x\r\n\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => {});
    });
    assert.doesNotMatch(answer, /^HTTP\/1\.1 2/, 'no cleartext answer');
    await until(() => gw.logRecords().some((r) => /plain ws:\/\/ or http:\/\/ on a TLS port/.test(r.msg ?? '')), 'the plaintext log line', 20_000);
    const msg = JSON.stringify({ action: 'echo', still: true });
    assert.equal((await bystander.request(msg, 20_000)).text, msg);
    bystander.ws.close();
  });

  it('https:// management calls: an unsigned one is refused with AWS\'s 403, as over http', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${gw.managementEndpoint}/@connections/AAAAAAAAAAAAAAAAAA`, { method: 'GET', ca: cert }, (r) => {
        let body = '';
        r.on('data', (d) => (body += d));
        r.on('end', () => resolve({ status: r.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 403);
    assert.match(res.body, /Missing Authentication Token|message/);
  });

  it('the handshake deadline holds for a socket that never starts TLS', async () => {
    const t0 = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      const s = netConnect(gw.port, '127.0.0.1');
      s.on('close', () => resolve(true));
      s.on('error', () => {});
      setTimeout(() => (s.destroy(), resolve(false)), 60_000).unref();
    });
    assert.ok(closed, 'closed by the gateway');
    assert.ok(Date.now() - t0 >= 1000, 'not before the deadline');
    assert.ok(gw.alive());
  });
});

describe('tls: { cert, key } in the configuration (in-process)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-tls-conf-'));
  let gw: Gateway;
  let cert: string;

  before(async () => {
    const files = await selfSignedCertificate('us-east-1', undefined, dir);
    // Relative to the configuration's folder (baseDir).
    gw = await createGateway({
      config: { tls: { cert: path.relative(dir, files.cert), key: path.relative(dir, files.key) }, routes: { $connect: { handler: path.join(FIXTURES, 'handlers.ts#connect') }, echo: { handler: path.join(FIXTURES, 'handlers.ts#echo'), routeResponse: true } }, management: { credentials: [{ ...CREDS }] } },
      baseDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    cert = readFileSync(files.cert, 'utf8');
  });
  after(() => gw?.close());

  it('serves wss:// and https:// URLs, counts cleartext refusals, and keeps serving', async () => {
    assert.match(gw.url, /^wss:\/\//);
    assert.match(gw.managementEndpoint, /^https:\/\//);
    await assert.rejects(TestClient.connect(gw.url.replace(/^wss:/, 'ws:')));
    await until(() => gw.counters.get('tlsRefused', 'plaintext') === 1, 'the plaintext refusal counted', 20_000);
    resetRecorded();
    const c = await TestClient.connect(gw.url, { ca: cert });
    assert.equal((await c.request('{"action":"echo"}', 20_000)).text, '{"action":"echo"}');
    const connect = eventsOf('$connect').at(-1);
    assert.equal(connect.headers['X-Forwarded-Proto'], 'https', 'as AWS says of a wss:// client');
    assert.equal(connect.headers['X-Forwarded-Port'], String(gw.port));
    assert.equal(connect.requestContext.domainName, `127.0.0.1:${gw.port}`, 'what the client connected to');
    c.ws.close();
  });

  it('a request offering Upgrade: h2c over TLS is served as the ordinary request it is', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${gw.managementEndpoint}/@connections/AAAAAAAAAAAAAAAAAA`, { method: 'GET', ca: cert, headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAEAAEAAAAIAAAAAAAMAAAAAZAAEAQAAAAAFAAAQAA' } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res, 403, 'the unsigned call gets its ordinary answer');
  });

  it('a certificate file that cannot be read is a configuration error naming the key', async () => {
    await assert.rejects(createGateway({ config: { tls: { cert: 'missing.pem', key: 'missing.key' } }, baseDir: dir, port: 0, logger: pino({ level: 'silent' }) }), (err: Error) => err.name === 'ConfigError' && /tls\.cert: cannot read/.test(err.message));
  });
});
