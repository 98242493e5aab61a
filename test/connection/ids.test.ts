import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newConnectionId, newRequestId } from '../../src/connection/ids.js';

describe('connection ids', () => {
  it('are 18 URL-safe characters that never start with "-" or "_", and do not repeat', () => {
    const seen = new Set<string>();
    const firsts = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      const id = newConnectionId();
      assert.match(id, /^[A-Za-z0-9][A-Za-z0-9_-]{17}$/);
      seen.add(id);
      firsts.add(id[0]!);
    }
    assert.equal(seen.size, 50_000);
    assert.equal(firsts.size, 62, 'every allowed first character occurs');
  });

  it('request ids are unique within a process', () => {
    const seen = new Set(Array.from({ length: 10_000 }, newRequestId));
    assert.equal(seen.size, 10_000);
  });
});
