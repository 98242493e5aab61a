// Temporary: the seam types from the interfaces brief, until branch c-seams lands src/bus/bus.ts and
// src/registry/registry.ts in this shape. Imports switch to those files then and this file goes.
import type { Identity, SendOutcome } from '../connection/connection.js';
import type { ListPage, ListQuery } from '../registry/registry.js';
export { InvalidCursor, type ConnectionListing, type ListPage, type ListQuery } from '../registry/registry.js';

export interface ConnectionRecord {
  readonly id: string; readonly stage: string; readonly nodeId: string;
  readonly connectedAt: number; readonly lastActiveAt: number;
  readonly identity: Identity; readonly principalId: string | undefined;
  readonly state?: string;
  readonly domainName?: string;
  readonly authorizer?: Record<string, unknown>;
  readonly groups?: readonly string[];
  readonly seq?: number;
}
export interface Registry {
  start(): Promise<void>;
  close(): Promise<void>;
  available(): boolean;
  add(rec: ConnectionRecord): Promise<void>;
  remove(id: string): Promise<boolean>;
  get(id: string): Promise<ConnectionRecord | undefined>;
  count(): Promise<number>;
  setPrincipal(id: string, principalId: string): Promise<void>;
  join(id: string, group: string): Promise<boolean>;
  leave(id: string, group: string): Promise<void>;
  list(q: ListQuery): Promise<ListPage>;
}

export type Selector =
  | { id: string; except?: string }
  | { principal: string; except?: string }
  | { group: string; except?: string }
  | { all: true; except?: string };
export type FailReason = 'gone' | 'full' | 'unknown';
export interface Failure { connectionId: string; reason: FailReason }
export interface FanOutOutcome { sent: number; failed: Failure[] }
export interface CloseOutcome { closed: number; failed: Failure[] }
export class BusUnavailable extends Error { override name = 'BusUnavailable' }
export class BusUnconfirmed extends Error { override name = 'BusUnconfirmed' }
export interface HubTarget {
  send(sel: Selector, data: Buffer | string, binary: boolean): FanOutOutcome;
  close(sel: Selector, code: number, reason: string): CloseOutcome;
  info(connectionId: string): ConnectionRecord | undefined;
  join(connectionId: string, group: string): Promise<boolean>;
  leave(connectionId: string, group: string): Promise<void>;
  has(connectionId: string): boolean;
}
export interface Bus {
  readonly nodeId: string;
  start(hub: HubTarget): Promise<void>;
  close(): Promise<void>;
  send(connectionId: string, data: Buffer | string, binary: boolean): Promise<SendOutcome>;
  disconnect(connectionId: string, code: number, reason: string): Promise<boolean>;
  info(connectionId: string): Promise<ConnectionRecord | undefined>;
  join(connectionId: string, group: string): Promise<boolean>;
  leave(connectionId: string, group: string): Promise<void>;
  fanOut(sel: Selector, data: Buffer | string, binary: boolean): Promise<FanOutOutcome>;
  disconnectAll(sel: Selector, code: number, reason: string): Promise<CloseOutcome>;
}
