import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { ROOT } from '../helpers/gateway.js';

const routes = { $default: { handler: './h.ts#h' } };

it('logging: pretty defaults to auto, access logs default on, bad values are refused', () => {
  const c = validateConfig({ routes });
  assert.equal(c.logging.pretty, 'auto');
  assert.deepEqual(c.logging.accessLog, { enabled: true, open: false });
  assert.equal(validateConfig({ routes, logging: { pretty: true, accessLog: { format: '$context.requestId' } } }).logging.accessLog.format, '$context.requestId');
  assert.throws(() => validateConfig({ routes, logging: { pretty: 'yes' } } as never), /pretty/);
  assert.throws(() => validateConfig({ routes, logging: { accessLog: { format: '' } } } as never), /format/);
  assert.throws(() => validateConfig({ routes, logging: { accessLog: { sampled: true } } } as never), /sampled/);
  // An empty admin token (`${ADMIN_TOKEN:-}` unset) is no token; a short one is refused.
  assert.equal(validateConfig({ routes, admin: { token: '' } }).admin?.token, undefined);
  assert.throws(() => validateConfig({ routes, admin: { token: 'short' } }), /token/);
});

it('logging.pretty: true writes readable lines through pino-pretty (on stderr, not JSON)', () => {
  const script = `import { createLogger } from ${JSON.stringify(path.join(ROOT, 'src', 'observability', 'logger.ts'))}; createLogger('info', true).info({ answer: 42 }, 'pretty line');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /INFO.*pretty line/);
  assert.match(r.stderr, /answer: 42/);
  assert.ok(!r.stderr.trimStart().startsWith('{'), 'not JSON');
});
