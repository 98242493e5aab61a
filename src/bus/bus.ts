import type { SendOutcome } from '../connection/connection.js';
import type { ConnectionRecord } from '../registry/registry.js';

/** Which connections an operation applies to; `except` leaves one connection out (the sender, usually). */
export type Selector =
  | { id: string; except?: string }
  | { principal: string; except?: string }
  | { group: string; except?: string }
  | { all: true; except?: string };

/** Why a recipient did not get a message: closed, buffer full, or on a node that did not confirm in time. */
export type FailReason = 'gone' | 'full' | 'unknown';
export interface Failure { connectionId: string; reason: FailReason }
export interface FanOutOutcome { sent: number; failed: Failure[] }
export interface CloseOutcome { closed: number; failed: Failure[] }

/** Nothing was attempted (Redis down, owner suspected, no subscriber): safe to retry. Management answers 503 ServiceUnavailableException. */
export class BusUnavailable extends Error { override name = 'BusUnavailable' }
/**
 * Too many bus requests in flight on this node. A BusUnavailable (nothing was attempted), so a
 * caller that does not know it answers 503; the management API answers it 429 LimitExceededException.
 */
export class BusOverloaded extends BusUnavailable {
  override name = 'BusOverloaded';
}

/** Attempted but the outcome is unknown (no reply in time). Management answers 500 InternalServerErrorException "may have been delivered". */
export class BusUnconfirmed extends Error { override name = 'BusUnconfirmed' }

/**
 * What a bus delivers to on the node it runs on: the local hub. Synchronous where it touches only memory.
 * join/leave are async because the owner also writes the registry.
 */
export interface HubTarget {
  /** For `{id}`: `failed[0].reason` says gone/full. */
  send(sel: Selector, data: Buffer | string, binary: boolean): FanOutOutcome;
  close(sel: Selector, code: number, reason: string): CloseOutcome;
  /** Exact (live lastActiveAt), open connections only. */
  info(connectionId: string): ConnectionRecord | undefined;
  /** false: not open here. */
  join(connectionId: string, group: string): Promise<boolean>;
  leave(connectionId: string, group: string): Promise<void>;
  has(connectionId: string): boolean;
}

/**
 * Carries an operation to the node(s) holding the sockets. The management API and admin API use only
 * the bus (operations) and the registry (lookups, listing), never sockets.
 * Infrastructure failures are thrown: BusUnavailable (→503), BusUnconfirmed (→500).
 */
export interface Bus {
  readonly nodeId: string;
  /** Binds the local hub and starts receiving (subscriptions in a cluster). */
  start(hub: HubTarget): Promise<void>;
  /** Stops receiving; pending requests end with BusUnavailable. */
  close(): Promise<void>;
  send(connectionId: string, data: Buffer | string, binary: boolean): Promise<SendOutcome>;
  /** Starts closing one connection with code/reason; false when it was not open. */
  disconnect(connectionId: string, code: number, reason: string): Promise<boolean>;
  /** The record from the owner (exact lastActiveAt), undefined when not open. */
  info(connectionId: string): Promise<ConnectionRecord | undefined>;
  join(connectionId: string, group: string): Promise<boolean>;
  leave(connectionId: string, group: string): Promise<void>;
  /**
   * Live records of many connections (a listing page), one request per owner node, in parallel.
   * `nodeId` is where the registry says each one is. Answer per id: the record (open), `null` (its
   * owner says it is not open), or absent (its owner could not be asked: the caller keeps what it has).
   */
  infoMany(items: ReadonlyArray<{ id: string; nodeId: string }>): Promise<Map<string, ConnectionRecord | null>>;
  /** Group/principal/broadcast send: once per node, not per member; results summed over nodes. */
  fanOut(sel: Selector, data: Buffer | string, binary: boolean): Promise<FanOutOutcome>;
  disconnectAll(sel: Selector, code: number, reason: string): Promise<CloseOutcome>;
}
