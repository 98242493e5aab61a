import { randomFillSync } from 'node:crypto';

/**
 * Identifiers. Connection ids are secrets of a sort (anyone holding one can be pushed to or
 * disconnected by a signed caller, and ids appear in logs), so they carry 96 random bits from
 * the OS CSPRNG. Request and message ids only need to be unique, so they come from a counter
 * behind a random per-process prefix: no entropy is spent on the per-message hot path.
 */

const POOL_SIZE = 12 * 256;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** A new connection id: 96 random bits as 16 URL-safe base64 characters (AWS ids are 16 characters too). */
export function newConnectionId(): string {
  if (poolOffset + 12 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString('base64url', poolOffset, poolOffset + 12);
  poolOffset += 12;
  return id;
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
