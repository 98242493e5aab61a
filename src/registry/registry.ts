import type { Identity } from '../connection/connection.js';

/**
 * What the registry knows about a connection: enough to answer GetConnection, find its node, and
 * let a surviving node run its $disconnect. A plain value: the owner node holds the live connection.
 */
export interface ConnectionRecord {
  readonly id: string;
  readonly stage: string;
  /** The node holding the socket (`local` in one process). */
  readonly nodeId: string;
  readonly connectedAt: number;
  /** Exact only when it comes from the owner (`bus.info`); the registry's copy may lag. */
  readonly lastActiveAt: number;
  readonly identity: Identity;
  /** The authorizer's principal, or one a $connect answer set. */
  readonly principalId: string | undefined;
  /** Life-cycle state where known; a `closing` connection is gone for callers. */
  readonly state?: string;
  /** `requestContext.domainName`, for a survivor's $disconnect. */
  readonly domainName?: string;
  /** `requestContext.authorizer`. */
  readonly authorizer?: Record<string, unknown>;
  readonly groups?: readonly string[];
  /** Listing order (cluster-wide in Redis). */
  readonly seq?: number;
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

/**
 * "Which connections exist, where, for whom, in which groups." One interface, an in-memory
 * implementation (one process, or several in-process nodes sharing it) and a Redis one for
 * cluster mode; both must pass test/registry/registry.contract.ts. A registry serves one stage.
 * Every call may go over a network, so every call is async; only the owner node writes a
 * connection's record and memberships.
 */
export interface Registry {
  start(): Promise<void>;
  close(): Promise<void>;
  /** false → callers that need the registry answer 503 without trying. */
  available(): boolean;
  /** Records an open connection with its principal and groups. Awaited before the 101: the record and its indexes are complete when the client sees the upgrade. */
  add(rec: ConnectionRecord): Promise<void>;
  /** Forgets a connection and its index entries; true when this call removed it (the claim that decides who runs $disconnect). */
  remove(id: string): Promise<boolean>;
  /** The record, or undefined when unknown. */
  get(id: string): Promise<ConnectionRecord | undefined>;
  /** How many connections are registered. */
  count(): Promise<number>;
  /** Indexes a connection under a principal. */
  setPrincipal(id: string, principalId: string): Promise<void>;
  /** Adds a connection to a group; false when the connection is unknown. */
  join(id: string, group: string): Promise<boolean>;
  /** Removes a connection from a group (no-op when it is not a member). */
  leave(id: string, group: string): Promise<void>;
  /** Stable order: paging never loses or repeats a connection that stays open. Bad cursor → throws InvalidCursor. */
  list(q: ListQuery): Promise<ListPage>;
}

/** The registry could not be reached: callers answer 503 (a handshake is refused before $connect). */
export class RegistryUnavailable extends Error {
  override name = 'RegistryUnavailable';
}

/** One gateway node as `GET @nodes` reports it. */
export interface NodeSummary {
  nodeId: string;
  /** Open connections it holds. */
  connections: number;
  /** `suspected`: its lease ran out and it has not been judged dead yet (calls for its connections answer 503). */
  state: 'alive' | 'suspected';
  /** The node that answered the call. */
  self: boolean;
  host?: string;
  pid?: number;
  /** Epoch ms. */
  startedAt?: number;
}
