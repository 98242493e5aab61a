import { collectDefaultMetrics, Registry } from 'prom-client';

/** This gateway's Prometheus metrics (a registry of its own: several gateways can share a process). */
export class GatewayMetrics {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
