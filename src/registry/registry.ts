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
  /** The authorizer's principal, or one a $connect answer set. */
  readonly principalId: string | undefined;
  /** Life-cycle state where the registry knows it; a `closing` connection is gone for callers. */
  readonly state?: string;
}

/** True when a record exists and its connection is open (a closing connection is already gone for callers). */
export function isOpen(rec: ConnectionRecord | undefined): rec is ConnectionRecord {
  return rec !== undefined && (rec.state === undefined || rec.state === 'open');
}

/** One row of a listing: the record and the groups it belongs to. */
export interface ConnectionListing {
  record: ConnectionRecord;
  groups: string[];
}

/** A page request: optional filters, a page size, and the cursor a previous page returned. */
export interface ListQuery {
  principal?: string | undefined;
  group?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface ListPage {
  items: ConnectionListing[];
  /** Present when more items may follow. */
  cursor?: string;
}

/** A cursor the registry did not issue (the management API answers 400). */
export class InvalidCursor extends Error {
  override name = 'InvalidCursor';
}

type Maybe<T> = T | Promise<T>;

/**
 * "Which connections exist, where, for whom, in which groups." One interface, an in-memory
 * implementation for one process, and (for cluster mode) a Redis one beside it; both must pass
 * test/registry/registry.contract.ts. A registry serves one stage, so nothing leaks across stages.
 */
export interface Registry {
  /** Records an open connection (after $connect accepted it), indexing its principal. */
  add(rec: ConnectionRecord): Maybe<void>;
  /** Forgets a connection, its principal index entry and all its group memberships. */
  remove(id: string): Maybe<void>;
  /** The connection, or undefined when unknown or closed. */
  get(id: string): Maybe<ConnectionRecord | undefined>;
  /** How many connections are open. */
  count(): Maybe<number>;
  /** Indexes a connection under a principal (a $connect answer may set one after the authorizer). */
  setPrincipal(id: string, principalId: string): Maybe<void>;
  /** Adds a connection to a group; false when the connection is unknown. */
  join(id: string, group: string): Maybe<boolean>;
  /** Removes a connection from a group (no-op when it is not a member). */
  leave(id: string, group: string): Maybe<void>;
  /** The open connections of a principal. */
  principalMembers(principalId: string): Maybe<ConnectionRecord[]>;
  /** The open connections in a group. */
  groupMembers(group: string): Maybe<ConnectionRecord[]>;
  /** Every open connection. */
  all(): Maybe<ConnectionRecord[]>;
  /** A page of connections in a stable order: paging through never loses or repeats a connection that stays open. */
  list(q: ListQuery): Maybe<ListPage>;
}
