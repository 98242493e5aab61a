import type { SendOutcome } from '../connection/connection.js';
import type { ConnectionRecord, Registry } from '../registry/registry.js';
import { BusUnavailable, BusUnconfirmed, type Bus, type CloseOutcome, type Failure, type FanOutOutcome, type HubTarget, type Selector } from './bus.js';

export interface MemoryBusOptions {
  /** The registry the nodes share: where an operation by id finds the connection's node. */
  registry: Registry;
  /** How long a request waits for a node that does not answer before its outcome is unknown; default 200 ms. */
  requestTimeoutMs?: number;
}

/** One step over the "network": an operation never completes in the caller's tick. */
const hop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Several in-process nodes connected as a cluster bus would connect them, without a network: the
 * stand-in for the Redis bus in tests and for running N gateways in one process. Like the Redis bus
 * it is asynchronous, sends an operation by id to the node owning it (found in the shared
 * registry), fans selectors out to every node once and sums their answers, and names the members
 * of a node that does not answer in time with reason `unknown` (from the registry's index).
 */
export class MemoryBusNetwork {
  /** Started nodes, by node id. */
  readonly nodes = new Map<string, MemoryBus>();
  private readonly silent = new Set<string>();
  readonly requestTimeoutMs: number;

  constructor(readonly o: MemoryBusOptions) {
    this.requestTimeoutMs = o.requestTimeoutMs ?? 200;
  }

  /** The bus of node `nodeId` (give it to that node's gateway). */
  node(nodeId: string): MemoryBus {
    return new MemoryBus(nodeId, this);
  }

  /** Makes a node stop answering (true) or answer again (false): requests to it end as unknown after the timeout. */
  setUnresponsive(nodeId: string, unresponsive: boolean): void {
    if (unresponsive) this.silent.add(nodeId);
    else this.silent.delete(nodeId);
  }

  /** Runs `op` on node `nodeId`'s hub after one hop; a node that does not answer throws BusUnconfirmed after the timeout. */
  async ask<T>(nodeId: string, op: (hub: HubTarget) => T | Promise<T>): Promise<T> {
    await hop();
    if (this.silent.has(nodeId)) {
      await new Promise((r) => setTimeout(r, this.requestTimeoutMs));
      throw new BusUnconfirmed(`node ${nodeId} did not answer within ${this.requestTimeoutMs} ms`);
    }
    const hub = this.nodes.get(nodeId)?.hub;
    if (hub === undefined) throw new BusUnconfirmed(`node ${nodeId} left while the request was in flight`);
    return op(hub);
  }

  /** The members of `sel` the registry places on `nodeId` (what a node that does not answer is assumed to hold). */
  async membersOn(nodeId: string, sel: Selector): Promise<string[]> {
    const ids: string[] = [];
    if ('id' in sel) return sel.id !== sel.except ? [sel.id] : ids;
    const filter = 'principal' in sel ? { principal: sel.principal } : 'group' in sel ? { group: sel.group } : {};
    let cursor: string | undefined;
    do {
      const page = await this.o.registry.list({ ...filter, limit: 1000, cursor });
      for (const l of page.items) if (l.record.nodeId === nodeId && l.record.id !== sel.except) ids.push(l.record.id);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return ids;
  }
}

/** One node's end of a MemoryBusNetwork. */
export class MemoryBus implements Bus {
  hub: HubTarget | undefined;

  constructor(
    readonly nodeId: string,
    private readonly net: MemoryBusNetwork,
  ) {}

  async start(hub: HubTarget): Promise<void> {
    if (this.net.nodes.has(this.nodeId)) throw new Error(`node ${this.nodeId} already joined this network`);
    this.hub = hub;
    this.net.nodes.set(this.nodeId, this);
  }

  async close(): Promise<void> {
    if (this.net.nodes.get(this.nodeId) === this) this.net.nodes.delete(this.nodeId);
    this.hub = undefined;
  }

  async send(connectionId: string, data: Buffer | string, binary: boolean): Promise<SendOutcome> {
    const out = await this.toOwner(connectionId, (hub) => hub.send({ id: connectionId }, data, binary));
    if (out === undefined) return 'gone';
    return out.sent === 1 ? 'ok' : ((out.failed[0]?.reason as SendOutcome | undefined) ?? 'gone');
  }

  async disconnect(connectionId: string, code: number, reason: string): Promise<boolean> {
    return (await this.toOwner(connectionId, (hub) => hub.close({ id: connectionId }, code, reason)))?.closed === 1;
  }

  async info(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.toOwner(connectionId, (hub) => hub.info(connectionId));
  }

  async infoMany(items: ReadonlyArray<{ id: string; nodeId: string }>): Promise<Map<string, ConnectionRecord | null>> {
    const hub = this.local();
    const out = new Map<string, ConnectionRecord | null>();
    const byNode = new Map<string, string[]>();
    for (const { id, nodeId } of items) {
      if (hub.has(id)) out.set(id, hub.info(id) ?? null);
      else if (!this.net.nodes.has(nodeId)) out.set(id, null); // its node is gone, and so is the connection
      else byNode.set(nodeId, [...(byNode.get(nodeId) ?? []), id]);
    }
    await Promise.all(
      [...byNode].map(([nodeId, ids]) =>
        this.net.ask(nodeId, (h) => ids.map((id) => h.info(id) ?? null)).then(
          (recs) => ids.forEach((id, i) => out.set(id, recs[i] ?? null)),
          () => {}, // not asked: the caller keeps the registry's copy
        ),
      ),
    );
    return out;
  }

  async join(connectionId: string, group: string): Promise<boolean> {
    return (await this.toOwner(connectionId, (hub) => hub.join(connectionId, group))) === true;
  }

  async leave(connectionId: string, group: string): Promise<void> {
    await this.toOwner(connectionId, (hub) => hub.leave(connectionId, group));
  }

  async fanOut(sel: Selector, data: Buffer | string, binary: boolean): Promise<FanOutOutcome> {
    const parts = await this.everyNode(sel, (hub) => hub.send(sel, data, binary));
    const out: FanOutOutcome = { sent: 0, failed: [] };
    for (const p of parts) {
      if ('unknown' in p) out.failed.push(...p.unknown);
      else {
        out.sent += p.sent;
        out.failed.push(...p.failed);
      }
    }
    return out;
  }

  async disconnectAll(sel: Selector, code: number, reason: string): Promise<CloseOutcome> {
    const parts = await this.everyNode(sel, (hub) => hub.close(sel, code, reason));
    const out: CloseOutcome = { closed: 0, failed: [] };
    for (const p of parts) {
      if ('unknown' in p) out.failed.push(...p.unknown);
      else {
        out.closed += p.closed;
        out.failed.push(...p.failed);
      }
    }
    return out;
  }

  /** This node's hub, or BusUnavailable once closed. */
  private local(): HubTarget {
    if (this.hub === undefined) throw new BusUnavailable(`the bus of node ${this.nodeId} is closed`);
    return this.hub;
  }

  /** Runs an operation on the connection's owner: directly when it is here, else where the registry says; undefined when no node holds it. */
  private async toOwner<T>(connectionId: string, op: (hub: HubTarget) => T | Promise<T>): Promise<T | undefined> {
    const hub = this.local();
    if (hub.has(connectionId)) return op(hub);
    const rec = await this.net.o.registry.get(connectionId);
    if (rec === undefined) return undefined;
    // A record whose node is not in the network: that node is gone, and so is the connection.
    if (!this.net.nodes.has(rec.nodeId)) return undefined;
    return this.net.ask(rec.nodeId, op);
  }

  /** Runs a selector operation on every node at once; a node that does not answer gives its members (per the registry) as `unknown`. */
  private async everyNode<T>(sel: Selector, op: (hub: HubTarget) => T): Promise<Array<T | { unknown: Failure[] }>> {
    this.local();
    return Promise.all(
      [...this.net.nodes.keys()].map((nodeId) =>
        this.net.ask(nodeId, op).catch(async (err: unknown) => {
          if (!(err instanceof BusUnconfirmed)) throw err;
          const ids = await this.net.membersOn(nodeId, sel);
          return { unknown: ids.map((connectionId): Failure => ({ connectionId, reason: 'unknown' })) };
        }),
      ),
    );
  }
}
