import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HandlerLoadError } from '../../src/integrations/handler.js';
import { IntegrationTimeout } from '../../src/integrations/integration.js';
import { WorkerIntegration, WorkerPool, type WorkerPoolOptions } from '../../src/integrations/worker-pool.js';
import { FIXTURES } from '../helpers/gateway.js';

const opts = (ref: string, extra: Partial<WorkerPoolOptions> = {}): WorkerPoolOptions => ({
  ref,
  file: path.resolve(FIXTURES, ref.split('#')[0]!),
  baseDir: FIXTURES,
  region: 'us-east-1',
  accountId: '000000000000',
  environment: undefined,
  functionName: 'fn',
  maxConcurrency: 2,
  idleMs: 60_000,
  maxOldGenerationSizeMb: 64,
  where: 'routes.test',
  ...extra,
});

describe('worker pool', () => {
  let pool: WorkerPool;
  before(async () => {
    pool = new WorkerPool(opts('./runtime/worker-fns.mjs#buffers'));
    await pool.start({ ...process.env });
  });
  after(() => pool.close());

  it('keeps Buffers Buffers across the thread boundary, both ways (structured clone makes them Uint8Arrays)', async () => {
    const answer = (await new WorkerIntegration(pool).invoke({ data: Buffer.from('abc') }, 20_000, 'fn')) as any;
    assert.equal(answer.isBuffer, true, 'the handler saw a Buffer');
    assert.ok(Buffer.isBuffer(answer.data));
    assert.equal(answer.data.toString(), 'abc!');
    assert.ok(Buffer.isBuffer(answer.nested.list[0]));
  });

  it('fails a call at its deadline with IntegrationTimeout and replaces the worker', async () => {
    const spin = new WorkerPool(opts('./runtime/worker-fns.mjs#spin'));
    try {
      await spin.start({ ...process.env });
      await assert.rejects(new WorkerIntegration(spin).invoke({}, 300, 'fn'), IntegrationTimeout);
      assert.equal(spin.size, 1, 'a fresh worker is kept warm');
    } finally {
      await spin.close();
    }
  });

  it('names the route and the export when the module has no such export', async () => {
    const bad = new WorkerPool(opts('./runtime/worker-fns.mjs#nope'));
    try {
      await assert.rejects(bad.start({ ...process.env }), (err: Error) => err instanceof HandlerLoadError && err.message.startsWith('routes.test:') && err.message.includes('"nope"'));
    } finally {
      await bad.close();
    }
  });
});
