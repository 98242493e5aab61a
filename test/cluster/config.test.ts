import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.js';
import { resolveNodeId } from '../../src/cluster/config.js';

describe('cluster config key', () => {
  it('is absent by default and takes its documented defaults when present', () => {
    assert.equal(ConfigSchema.parse({}).cluster, undefined);
    const c = ConfigSchema.parse({ cluster: { redis: { url: 'redis://127.0.0.1:6379' } } }).cluster!;
    assert.deepEqual(
      { ...c, redis: undefined },
      { redis: undefined, keyPrefix: 'sb', nodeId: 'auto', heartbeatMs: 1000, leaseMs: 5000, deadAfterMs: 30000, reaperIntervalMs: 1000, requestTimeoutMs: 2000, acceptWhileRegistryDown: false, startupTimeoutMs: 10000 },
    );
    assert.match(resolveNodeId(c), /^[A-Za-z0-9_-]{16}$/);
    assert.notEqual(resolveNodeId(c), resolveNodeId(c));
  });

  it('rejects what cannot work, naming the key', () => {
    const bad = (cluster: unknown, path: string) => {
      const r = ConfigSchema.safeParse({ cluster });
      assert.equal(r.success, false);
      assert.ok(r.error!.issues.some((i) => i.path.join('.').startsWith(path)), `${path}: ${JSON.stringify(r.error!.issues)}`);
    };
    bad({ redis: { url: 'http://x' } }, 'cluster.redis');
    bad({ redis: { url: 'redis://x' }, heartbeatMs: 1000, leaseMs: 1000 }, 'cluster.leaseMs');
    bad({ redis: { url: 'redis://x' }, deadAfterMs: 1000 }, 'cluster.deadAfterMs');
    bad({ redis: { url: 'redis://x' }, keyPrefix: 'a b' }, 'cluster.keyPrefix');
    bad({ redis: { url: 'redis://x' }, extra: 1 }, 'cluster');
    assert.equal(ConfigSchema.safeParse({ cluster: { redis: { sentinel: { name: 'm', nodes: [{ host: 'h', port: 26379 }] } } } }).success, true);
  });
});
