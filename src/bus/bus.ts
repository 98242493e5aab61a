import type { SendOutcome } from '../connection/connection.js';

/**
 * Carries an operation to the node that holds the socket: a direct call in one process,
 * Redis pub/sub in a cluster. The management API uses only this and the registry, never
 * sockets, so it works the same on every node.
 */
export interface Bus {
  /** Sends one message to a connection on `nodeId`. */
  send(nodeId: string, connectionId: string, data: Buffer | string, binary: boolean): SendOutcome | Promise<SendOutcome>;
  /** Closes a connection on `nodeId` with a code and reason; false when it was not open. */
  close(nodeId: string, connectionId: string, code: number, reason: string): boolean | Promise<boolean>;
}
