import type { SendOutcome } from '../connection/connection.js';

/** Where a connection lives: enough for the bus to reach it. */
export interface TargetRef {
  readonly id: string;
  readonly nodeId: string;
}

/** How a fan-out went. */
export interface FanOutOutcome {
  sent: number;
  failed: Array<{ connectionId: string; reason: 'gone' | 'full' }>;
}

/**
 * Carries an operation to the node that holds the socket: a direct call in one process,
 * Redis pub/sub in a cluster. The management API uses only this and the registry, never
 * sockets, so it works the same on every node.
 */
export interface Bus {
  /** Sends one message to a connection on `nodeId`. */
  send(nodeId: string, connectionId: string, data: Buffer | string, binary: boolean): SendOutcome | Promise<SendOutcome>;
  /**
   * Sends one message to many connections (group, principal, broadcast): one call for the
   * batch, so a cluster bus can publish once per node instead of once per member. Connections
   * that could not take it are returned with why; nothing is dropped silently.
   */
  sendMany(targets: readonly TargetRef[], data: Buffer | string, binary: boolean): FanOutOutcome | Promise<FanOutOutcome>;
  /** Closes a connection on `nodeId` with a code and reason; false when it was not open. */
  close(nodeId: string, connectionId: string, code: number, reason: string): boolean | Promise<boolean>;
}
