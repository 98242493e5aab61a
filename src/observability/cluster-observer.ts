import type { BusOperation, BusOutcome, ClusterEvent, ClusterObserver, RegistryOperation } from '../cluster/observer.js';
import type { Counters } from './counters.js';
import type { PromMetrics } from './metrics.js';

const COUNTER: Record<ClusterEvent, string> = {
  nodeReaped: 'clusterNodesReaped',
  deadDisconnect: 'clusterDeadDisconnects',
  staleRequest: 'clusterStaleRequests',
  resubscribed: 'clusterResubscribes',
};

/**
 * Binds cluster mode's reports to the gateway's counters (always kept) and, with the admin
 * listener, to its Prometheus latency histograms.
 */
export function clusterObserver(counters: Counters, metrics: PromMetrics | undefined): ClusterObserver {
  return {
    busRequest: metrics ? (op: BusOperation, outcome: BusOutcome, ms: number) => metrics.busRequest(op, outcome, ms) : () => {},
    registryCall: metrics ? (op: RegistryOperation, ok: boolean, ms: number) => metrics.registryCall(op, ok, ms) : () => {},
    event: (e) => counters.inc(COUNTER[e]),
  };
}
