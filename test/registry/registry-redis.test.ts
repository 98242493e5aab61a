import { after, before } from 'node:test';
import type { RedisRegistry } from '../../src/registry/registry-redis.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startRegistryNode } from '../cluster/harness.js';
import { registryContract } from './registry.contract.js';

let redis: RedisServer;
let n = 0;
const nodes = new Map<RedisRegistry, { crash(): void }>();
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

registryContract(
  'RedisRegistry',
  async () => {
    // A fresh key prefix per test: an empty registry on the same redis-server.
    const { node, registry } = await startRegistryNode(redis.url, 'n1', `c${++n}`);
    nodes.set(registry, node);
    return registry;
  },
  (r) => {
    nodes.get(r as RedisRegistry)?.crash();
    nodes.delete(r as RedisRegistry);
  },
);
