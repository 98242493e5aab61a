/** The bus operations measured, one per Bus method. */
export type BusOperation = 'send' | 'disconnect' | 'info' | 'infoBatch' | 'join' | 'leave' | 'fanOut' | 'disconnectAll';
/**
 * How a bus operation ended: `ok` (answered), `gone` (the connection or its node is gone),
 * `unavailable` (not attempted: 503), `overloaded` (too many in flight: 429), `unconfirmed`
 * (attempted, no answer in time: 500).
 */
export type BusOutcome = 'ok' | 'gone' | 'unavailable' | 'overloaded' | 'unconfirmed';
/** Registry calls measured (those that go to Redis). */
export type RegistryOperation = 'add' | 'remove' | 'get' | 'count' | 'setPrincipal' | 'join' | 'leave' | 'list';
/** Node-life events counted: a dead node reaped, a $disconnect run for a reaped connection, a bus request dropped as stale, a subscriber recreated by the probe. */
export type ClusterEvent = 'nodeReaped' | 'deadDisconnect' | 'staleRequest' | 'resubscribed';

/**
 * What cluster mode reports about itself. The gateway binds it to its metrics and counters, so
 * nothing here depends on a metrics library; every label is one of the bounded names above.
 */
export interface ClusterObserver {
  /** A bus operation that went through Redis (calls served by the local hub are not measured). */
  busRequest(op: BusOperation, outcome: BusOutcome, ms: number): void;
  registryCall(op: RegistryOperation, ok: boolean, ms: number): void;
  event(e: ClusterEvent): void;
}

const noop = () => {};
export const NOOP_CLUSTER_OBSERVER: ClusterObserver = Object.freeze({ busRequest: noop, registryCall: noop, event: noop });

/** Forwards to an observer bound later (the parts are built before the gateway binds its metrics). */
export class ObserverRelay implements ClusterObserver {
  target: ClusterObserver = NOOP_CLUSTER_OBSERVER;
  busRequest(op: BusOperation, outcome: BusOutcome, ms: number): void {
    this.target.busRequest(op, outcome, ms);
  }
  registryCall(op: RegistryOperation, ok: boolean, ms: number): void {
    this.target.registryCall(op, ok, ms);
  }
  event(e: ClusterEvent): void {
    this.target.event(e);
  }
}
