import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryRegistry } from '../../src/registry/registry-memory.js';
import { record, registryContract } from './registry.contract.js';

registryContract('MemoryRegistry', async () => {
  const r = new MemoryRegistry();
  await r.start();
  return r;
});

it('MemoryRegistry keeps a plain copy, not the object it was given', async () => {
  const r = new MemoryRegistry();
  const live = { ...record('a'), lastActiveAt: 5 };
  await r.add(live);
  live.lastActiveAt = 9;
  assert.equal((await r.get('a'))?.lastActiveAt, 5);
  assert.notEqual(await r.get('a'), live);
});
