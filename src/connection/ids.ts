import { randomFillSync } from 'node:crypto';

/**
 * Identifiers. Connection ids are secrets of a sort (anyone holding one can be pushed to or
 * disconnected by a signed caller, and ids appear in logs), so they carry 96 random bits from
 * the OS CSPRNG. Request and message ids only need to be unique, so they come from a counter
 * behind a random per-process prefix: no entropy is spent on the per-message hot path.
 */

const ID_BYTES = 13;
const POOL_SIZE = ID_BYTES * 256;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/**
 * A new connection id: 13 random bytes as 18 URL-safe base64 characters. An id never starts
 * with `-` or `_`, so command lines do not take it for an option; rejecting those draws keeps
 * about 103.9 bits of entropy, above the 96 required.
 */
export function newConnectionId(): string {
  for (;;) {
    if (poolOffset + ID_BYTES > POOL_SIZE) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const id = pool.toString('base64url', poolOffset, poolOffset + ID_BYTES);
    poolOffset += ID_BYTES;
    const first = id.charCodeAt(0);
    if (first !== 45 /* - */ && first !== 95 /* _ */) return id;
  }
}

const prefixBytes = Buffer.allocUnsafe(6);
randomFillSync(prefixBytes);
const PREFIX = prefixBytes.toString('base64url'); // 8 characters
let counter = 0;

/** A new request or message id: 16 URL-safe characters, unique within this process and across restarts with high probability. */
export function newRequestId(): string {
  counter = (counter + 1) % 0x1000000000; // 36 bits → 7 base-36 digits at most
  return PREFIX + counter.toString(36).padStart(8, '0');
}
