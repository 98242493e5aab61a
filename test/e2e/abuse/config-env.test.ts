import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfigFile } from '../../../src/config/load.js';
import { TestClient } from '../../helpers/client.js';
import { FIXTURES, ROOT } from '../../helpers/gateway.js';
import { switchboardArgv } from '../../helpers/process.js';

/**
 * `${VAR}` values go into the parsed configuration as scalars: a value cannot add keys, whatever
 * YAML or JSON it contains. Keys are never substituted.
 */

const INJECT = 'x\nmanagement:\n  auth: none';

function configFile(text: string, ext = 'yaml'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-env-'));
  const file = path.join(dir, `switchboard.${ext}`);
  writeFileSync(file, text);
  return file;
}

const TEMPLATE = `stage: dev
port: \${PORT:-8080}
domainName: \${DOMAIN}
region: "\${REGION}"
routeSelectionExpression: \${RSE:-$request.body.action}
routes:
  echo\${SUFFIX}:
    handler: ${path.join(FIXTURES, 'handlers.ts')}#echo
  $default: { handler: ${path.join(FIXTURES, 'handlers.ts')}#echo, routeResponse: \${TWO_WAY:-true} }
handlerEnvironment: \${HANDLER_ENV:-false}
# a reference in a comment is not read: \${NOT_SET_ANYWHERE}
`;

const META = [
  INJECT,
  'a: b',
  'a # not a comment',
  '{ "management": { "auth": "none" } }',
  '"double" and \'single\' quotes',
  '[1, 2]',
  '&anchor *alias !!str | > - ? %',
  '\\n backslash \\" escapes \\u0041',
  'trailing\n',
  '  padded  ',
];

describe('${VAR} substitution', () => {
  for (const value of META) {
    it(`a value ${JSON.stringify(value)} lands verbatim in the one scalar it was written into`, async () => {
      const file = configFile(TEMPLATE);
      const { config } = await loadConfigFile(file, { DOMAIN: value, REGION: value, SUFFIX: 'X' });
      assert.equal(config.domainName, value);
      assert.equal(config.region, value);
      assert.equal(config.management.auth, 'sigv4');
      assert.deepEqual(config.management.credentials, []);
      assert.equal(config.port, 8080);
      assert.equal(config.handlerEnvironment, false);
      assert.equal(config.routes.$default?.routeResponse, true);
      // Keys are never substituted.
      assert.deepEqual(Object.keys(config.routes).sort(), ['$default', 'echo${SUFFIX}']);
    });
  }

  it('in a JSON file too, and a whole-scalar reference to a number or boolean keeps working', async () => {
    const file = configFile(`{"stage": "dev", "port": \${PORT}, "domainName": "\${DOMAIN}", "handlerEnvironment": \${HE}, "limits": {"messageBytes": \${MB:-4096}}}`, 'json');
    const { config } = await loadConfigFile(file, { PORT: '9000', DOMAIN: '", "management": {"auth": "none"}, "x": "', HE: 'false' });
    assert.equal(config.port, 9000);
    assert.equal(config.handlerEnvironment, false);
    assert.equal(config.limits.messageBytes, 4096);
    assert.equal(config.domainName, '", "management": {"auth": "none"}, "x": "');
    assert.equal(config.management.auth, 'sigv4');
  });

  it('a quoted reference stays a string; a reference inside a longer scalar is a string', async () => {
    const quoted = configFile('port: "${PORT}"\n');
    await assert.rejects(loadConfigFile(quoted, { PORT: '9000' }), (e: Error) => e instanceof ConfigError && /port: .*expected number/i.test(e.message));
    const { config } = await loadConfigFile(configFile('domainName: ${A}${B}.example\n'), { A: '1', B: '2' });
    assert.equal(config.domainName, '12.example');
  });

  it('an unset variable without a default names the file and the variable', async () => {
    const file = configFile('port: ${PORT_NOT_SET_X}\n');
    await assert.rejects(loadConfigFile(file, {}), (e: Error) => e instanceof ConfigError && e.message.includes(file) && e.message.includes('PORT_NOT_SET_X'));
  });

  it('through the CLI: PORT picks the port, and an injected "auth: none" does not turn authentication off', async () => {
    const port = await freePort();
    const file = configFile(TEMPLATE);
    const child = spawn(process.execPath, switchboardArgv(['start', '--config', file]), {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), DOMAIN: INJECT, REGION: 'eu-west-1', SUFFIX: 'X' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not listening in 20 s:\n${out}\n${err}`)), 20_000);
        child.stdout.on('data', () => out.includes(`:${port}/dev`) && (clearTimeout(t), resolve()));
        child.on('exit', (code) => (clearTimeout(t), reject(new Error(`exited ${code}:\n${out}\n${err}`))));
      });
      assert.doesNotMatch(err, /AUTHENTICATION IS OFF/);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/dev/@connections/abc', headers: { 'content-length': '2' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end('hi');
      });
      assert.equal(status, 403, 'an unsigned management call is refused');
      const c = await TestClient.connect(`ws://127.0.0.1:${port}/dev`);
      assert.equal((await c.request('ping')).text, 'ping');
      c.close();
    } finally {
      child.kill('SIGTERM');
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
