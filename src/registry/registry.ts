import type { Identity } from '../connection/connection.js';

/** What the registry knows about a connection: enough to answer GetConnection and find its node. */
export interface ConnectionRecord {
  readonly id: string;
  readonly stage: string;
  /** The node holding the socket (`local` in one process). */
  readonly nodeId: string;
  readonly connectedAt: number;
  readonly lastActiveAt: number;
  readonly identity: Identity;
  readonly principalId: string | undefined;
  readonly groups: ReadonlySet<string>;
  /** Life-cycle state where the registry knows it; a `closing` connection is gone for callers. */
  readonly state?: string;
}

/**
 * "Which connections exist, where, for whom." One interface, an in-memory implementation for
 * one process, and (for cluster mode) a Redis one beside it; both must pass
 * test/registry/registry.contract.ts. Methods may answer synchronously or with a promise.
 */
export interface Registry {
  /** Records an open connection (after $connect accepted it). */
  add(rec: ConnectionRecord): void | Promise<void>;
  /** Forgets a connection, its principal index entry and its group memberships. */
  remove(id: string): void | Promise<void>;
  /** The connection, or undefined when unknown or closed. */
  get(id: string): ConnectionRecord | undefined | Promise<ConnectionRecord | undefined>;
  /** How many connections are open. */
  count(): number | Promise<number>;
}
