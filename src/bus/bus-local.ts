import type { SendOutcome } from '../connection/connection.js';
import type { ConnectionRecord } from '../registry/registry.js';
import { BusUnavailable, type Bus, type CloseOutcome, type FanOutOutcome, type HubTarget, type Selector } from './bus.js';

/** The bus of a single process: every connection is on this node, so operations are direct calls on its hub. */
export class LocalBus implements Bus {
  private hub: HubTarget | undefined;

  constructor(readonly nodeId = 'local') {}

  async start(hub: HubTarget): Promise<void> {
    this.hub = hub;
  }

  async close(): Promise<void> {
    this.hub = undefined;
  }

  async send(connectionId: string, data: Buffer | string, binary: boolean): Promise<SendOutcome> {
    const out = this.target().send({ id: connectionId }, data, binary);
    return out.sent === 1 ? 'ok' : (out.failed[0]?.reason as SendOutcome | undefined) ?? 'gone';
  }

  async disconnect(connectionId: string, code: number, reason: string): Promise<boolean> {
    return this.target().close({ id: connectionId }, code, reason).closed === 1;
  }

  async info(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.target().info(connectionId);
  }

  async infoMany(items: ReadonlyArray<{ id: string; nodeId: string }>): Promise<Map<string, ConnectionRecord | null>> {
    const hub = this.target();
    return new Map(items.map(({ id }) => [id, hub.info(id) ?? null]));
  }

  async join(connectionId: string, group: string): Promise<boolean> {
    return this.target().join(connectionId, group);
  }

  async leave(connectionId: string, group: string): Promise<void> {
    return this.target().leave(connectionId, group);
  }

  async fanOut(sel: Selector, data: Buffer | string, binary: boolean): Promise<FanOutOutcome> {
    return this.target().send(sel, data, binary);
  }

  async disconnectAll(sel: Selector, code: number, reason: string): Promise<CloseOutcome> {
    return this.target().close(sel, code, reason);
  }

  private target(): HubTarget {
    if (this.hub === undefined) throw new BusUnavailable('the bus is not started');
    return this.hub;
  }
}
