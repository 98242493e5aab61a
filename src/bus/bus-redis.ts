import type { SendOutcome } from '../connection/connection.js';
import type { ClusterConfig } from '../cluster/config.js';
import { encodeBatch, encodeFrame, FrameType, type Frame, type FrameHeader } from '../cluster/frame.js';
import type { ClusterLog, ClusterNode } from '../cluster/node.js';
import { NOOP_CLUSTER_OBSERVER, type BusOperation, type BusOutcome, type ClusterObserver } from '../cluster/observer.js';
import { command, FANOUT, ROUTE, ROUTE_MANY, runScript } from '../cluster/scripts.js';
import { BusOverloaded, BusUnavailable, BusUnconfirmed, type Bus, type CloseOutcome, type Failure, type FanOutOutcome, type HubTarget, type Selector } from '../bus/bus.js';
export { BusOverloaded };
import { type ConnectionRecord } from '../registry/registry.js';


export interface RedisBusOptions {
  node: ClusterNode;
  config: ClusterConfig;
  /** Requests (single and fan-out) this node may wait on at once; beyond it BusOverloaded (default 10,000). */
  maxInFlight?: number;
  log?: ClusterLog;
  /** Called when a route finds a dead owner, so the reaper need not wait for its next tick. */
  onDeadNode?: () => void;
  /** Latency and outcome of each request through Redis, stale requests dropped. */
  observer?: ClusterObserver;
}

/** A single request waiting for its owner's reply. */
interface Single {
  kind: 'one';
  node: string | undefined;
  settle: (r: unknown) => void;
}
/** A fan-out waiting for the replies of the live nodes. */
interface Fan {
  kind: 'fan';
  replies: Map<string, unknown>;
  /** Nodes whose reply is still awaited (set once the fan-out script answered). */
  waiting: Set<string> | undefined;
  /** Nodes that died or left while their reply was awaited. */
  lost: Set<string>;
  done: () => void;
}

/** What the route scripts answer for one request: status, owner node, receivers of the publish. */
type RouteResult = [string, string, number];

/** A request waiting for the next route script run (requests of one event-loop turn go together). */
interface RouteItem {
  id: string;
  frame: Buffer;
  deadline: number;
  resolve: (r: RouteResult) => void;
  reject: (err: unknown) => void;
}

/** Requests per route script run: bounds how long one script holds Redis. */
const ROUTE_BATCH_MAX = 256;

const GONE = Symbol('gone');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The cluster bus over Redis pub/sub: one command channel per node plus the control channel.
 * A call for a connection held here goes straight to the local hub (no Redis); any other goes
 * through the route script (owner lookup + lease check + PUBLISH, atomically) and waits for the
 * owner's reply until `requestTimeoutMs`. Fan-outs publish the selector once; each node applies
 * it to its own connections and replies with its counts. Nothing uncertain is reported as done:
 * not attempted → BusUnavailable (503), attempted without an answer → BusUnconfirmed (500).
 */
export class RedisBus implements Bus {
  private readonly node: ClusterNode;
  private readonly T: number;
  private readonly deadAfterMs: number;
  private readonly max: number;
  private readonly log: ClusterLog;
  private readonly onDeadNode: () => void;
  private readonly obs: ClusterObserver;
  private hub: HubTarget | undefined;
  private rid = 0;
  private readonly pending = new Map<number, Single | Fan>();
  /** Requests for other nodes gathered during this turn of the event loop, routed together. */
  private routeQueue: RouteItem[] = [];
  /** Replies to other nodes gathered during this turn, one publish per node. */
  private replyQueue = new Map<string, Buffer[]>();
  /** Requests dropped because they were older than the deadline when they arrived (a stalled Redis). */
  staleDropped = 0;

  constructor(o: RedisBusOptions) {
    this.node = o.node;
    this.T = o.config.requestTimeoutMs;
    this.deadAfterMs = o.config.deadAfterMs;
    this.max = o.maxInFlight ?? 10_000;
    this.log = o.log ?? (() => {});
    this.onDeadNode = o.onDeadNode ?? (() => {});
    this.obs = o.observer ?? NOOP_CLUSTER_OBSERVER;
  }

  get nodeId(): string {
    return this.node.nodeId;
  }

  async start(hub: HubTarget): Promise<void> {
    this.hub = hub;
  }

  async close(): Promise<void> {
    for (const [rid, p] of this.pending) {
      this.pending.delete(rid);
      if (p.kind === 'one') p.settle(new BusUnavailable('bus closed'));
      else p.done();
    }
    this.hub = undefined;
  }

  async send(connectionId: string, data: Buffer | string, binary: boolean): Promise<SendOutcome> {
    const hub = this.hub;
    if (hub?.has(connectionId)) return sendOutcome(hub.send({ id: connectionId }, data, binary));
    const r = await this.call(FrameType.SEND, connectionId, { binary }, data);
    return r === GONE ? 'gone' : (r as SendOutcome);
  }

  async disconnect(connectionId: string, code: number, reason: string): Promise<boolean> {
    const hub = this.hub;
    if (hub?.has(connectionId)) return hub.close({ id: connectionId }, code, reason).closed > 0;
    const r = await this.call(FrameType.CLOSE, connectionId, { code, reason });
    return r !== GONE && r === true;
  }

  async info(connectionId: string): Promise<ConnectionRecord | undefined> {
    const hub = this.hub;
    if (hub?.has(connectionId)) return hub.info(connectionId);
    const r = await this.call(FrameType.INFO, connectionId, {});
    return r === GONE || r === null ? undefined : (r as ConnectionRecord);
  }

  async infoMany(items: ReadonlyArray<{ id: string; nodeId: string }>): Promise<Map<string, ConnectionRecord | null>> {
    const hub = this.hub;
    const out = new Map<string, ConnectionRecord | null>();
    const byNode = new Map<string, string[]>();
    for (const { id, nodeId } of items) {
      if (hub?.has(id)) out.set(id, hub.info(id) ?? null);
      else byNode.set(nodeId, [...(byNode.get(nodeId) ?? []), id]);
    }
    await Promise.all(
      [...byNode].map(([node, ids]) =>
        this.batchInfo(node, ids).then(
          (recs) => ids.forEach((id, i) => out.set(id, recs === GONE ? null : (recs[i] ?? null))),
          () => {}, // owner not asked or silent: the caller keeps the registry's copy
        ),
      ),
    );
    return out;
  }

  /** One INFO_BATCH request straight to a node's channel (the registry named the node); GONE when the node left or was reaped meanwhile. */
  private async batchInfo(node: string, ids: string[]): Promise<Array<ConnectionRecord | null> | typeof GONE> {
    const t0 = performance.now();
    try {
      this.admit();
      const rid = ++this.rid;
      let settle!: (r: unknown) => void;
      const answered = new Promise<unknown>((resolve) => (settle = resolve));
      this.pending.set(rid, { kind: 'one', node, settle });
      try {
        const frame = encodeFrame(FrameType.INFO_BATCH, { rid, from: this.node.nodeId, ts: this.node.redisNow(), ids });
        const receivers = await this.node.publishTo(node, frame).catch((err: unknown) => {
          throw busError(err);
        });
        if (Number(receivers) === 0) throw new BusUnavailable(`node ${node} not subscribed`);
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([answered, new Promise((resolve) => (timer = setTimeout(resolve, this.T, TIMEOUT)))]);
        clearTimeout(timer);
        if (r === TIMEOUT) throw new BusUnconfirmed(`no answer from node ${node} within ${this.T} ms`);
        if (r instanceof Error) throw r;
        this.obs.busRequest('infoBatch', r === GONE ? 'gone' : 'ok', performance.now() - t0);
        return r === GONE ? GONE : Array.isArray(r) ? (r as Array<ConnectionRecord | null>) : [];
      } finally {
        this.pending.delete(rid);
      }
    } catch (err) {
      this.obs.busRequest('infoBatch', outcomeOf(err), performance.now() - t0);
      throw err;
    }
  }

  async join(connectionId: string, group: string): Promise<boolean> {
    const hub = this.hub;
    if (hub?.has(connectionId)) return hub.join(connectionId, group);
    const r = await this.call(FrameType.JOIN, connectionId, { group });
    return r !== GONE && r === true;
  }

  async leave(connectionId: string, group: string): Promise<void> {
    const hub = this.hub;
    if (hub?.has(connectionId)) return hub.leave(connectionId, group);
    await this.call(FrameType.LEAVE, connectionId, { group });
  }

  async fanOut(sel: Selector, data: Buffer | string, binary: boolean): Promise<FanOutOutcome> {
    if ('id' in sel) {
      if (sel.except === sel.id) return { sent: 0, failed: [] };
      const r = await this.send(sel.id, data, binary);
      return r === 'ok' ? { sent: 1, failed: [] } : { sent: 0, failed: [{ connectionId: sel.id, reason: r }] };
    }
    const { local, replies, unknown, gone } = await this.fan(FrameType.FANOUT_SEND, sel, { binary }, data, (hub) => hub.send(sel, data, binary));
    const out: FanOutOutcome = { sent: (local as FanOutOutcome).sent, failed: [...(local as FanOutOutcome).failed] };
    for (const r of replies) {
      const o = r as FanOutOutcome;
      out.sent += Number(o.sent) || 0;
      if (Array.isArray(o.failed)) out.failed.push(...o.failed);
    }
    for (const id of unknown) out.failed.push({ connectionId: id, reason: 'unknown' });
    for (const id of gone) out.failed.push({ connectionId: id, reason: 'gone' });
    return out;
  }

  async disconnectAll(sel: Selector, code: number, reason: string): Promise<CloseOutcome> {
    if ('id' in sel) {
      if (sel.except === sel.id) return { closed: 0, failed: [] };
      return { closed: (await this.disconnect(sel.id, code, reason)) ? 1 : 0, failed: [] };
    }
    const { local, replies, unknown } = await this.fan(FrameType.FANOUT_CLOSE, sel, { code, reason }, undefined, (hub) => hub.close(sel, code, reason));
    const out: CloseOutcome = { closed: (local as CloseOutcome).closed, failed: [...(local as CloseOutcome).failed] };
    for (const r of replies) {
      const o = r as CloseOutcome;
      out.closed += Number(o.closed) || 0;
      if (Array.isArray(o.failed)) out.failed.push(...o.failed);
    }
    // Connections of dead nodes are already closed (their $disconnect runs from the reaper): not failures.
    for (const id of unknown) out.failed.push({ connectionId: id, reason: 'unknown' });
    return out;
  }

  /** A frame from this node's channel or the control channel (wired by the node). */
  onFrame(f: Frame): void {
    const h = f.header;
    switch (f.type) {
      case FrameType.REPLY:
        this.onReply(h);
        return;
      case FrameType.NODE_DEAD:
      case FrameType.NODE_LEFT:
        if (h.node !== undefined) this.forgetNode(h.node);
        return;
      default:
        if (h.from === this.node.nodeId && (f.type === FrameType.FANOUT_SEND || f.type === FrameType.FANOUT_CLOSE)) return; // our own fan-out: applied locally already
        this.serve(f);
    }
  }

  /** One request for a single connection on another node. Resolves with the owner's answer, or GONE. */
  private async call(type: FrameType, id: string, fields: FrameHeader, payload?: Buffer | string): Promise<unknown> {
    const t0 = performance.now();
    const op = OPERATION[type] ?? 'send';
    try {
      const r = await this.callOnce(type, id, fields, payload);
      // Answered either way; `gone`: the connection or its node is gone (the owner's own "not open" answers included).
      this.obs.busRequest(op, r === GONE || r === 'gone' || r === null || r === false ? 'gone' : 'ok', performance.now() - t0);
      return r;
    } catch (err) {
      this.obs.busRequest(op, outcomeOf(err), performance.now() - t0);
      throw err;
    }
  }

  private async callOnce(type: FrameType, id: string, fields: FrameHeader, payload?: Buffer | string): Promise<unknown> {
    this.admit();
    const deadline = Date.now() + this.T;
    const rid = ++this.rid;
    // Object.assign, not a spread: JSON.stringify of a spread-built object takes about 3 times as long.
    const frame = encodeFrame(type, Object.assign({ rid, from: this.node.nodeId, ts: this.node.redisNow(), id }, fields), payload);
    let settle!: (r: unknown) => void;
    const answered = new Promise<unknown>((resolve) => (settle = resolve));
    const p: Single = { kind: 'one', node: undefined, settle };
    this.pending.set(rid, p);
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        if (deadline - Date.now() <= 0) throw new BusUnavailable('owner not subscribed (no receiver) until the deadline');
        let res: RouteResult;
        try {
          res = await this.route(id, frame, deadline);
        } catch (err) {
          throw busError(err);
        }
        const [status, owner, receivers] = res;
        if (status === 'gone') return GONE;
        if (status === 'dead') {
          this.onDeadNode();
          return GONE;
        }
        if (status !== 'sent') throw new BusUnavailable(status === 'suspect' ? `owner ${owner} suspected (lease expired)` : 'registry being rebuilt');
        if (Number(receivers) === 0) {
          await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
          continue;
        }
        p.node = owner;
        // The reply may already have come (it travels on the subscriber connection): then this resolves at once.
        timer = setTimeout(settle, Math.max(0, deadline - Date.now()), TIMEOUT);
        const r = await answered;
        if (r === TIMEOUT) throw new BusUnconfirmed(`no answer from node ${owner} within ${this.T} ms; may have been delivered`);
        if (r instanceof Error) throw r;
        return r;
      }
    } finally {
      clearTimeout(timer);
      this.pending.delete(rid);
    }
  }

  /**
   * Routes one request (owner lookup, lease check, publish) together with the others of this
   * event-loop turn: under load one script run and one publish per owner carry many requests.
   */
  private route(id: string, frame: Buffer, deadline: number): Promise<RouteResult> {
    return new Promise((resolve, reject) => {
      if (this.routeQueue.push({ id, frame, deadline, resolve, reject }) === 1) setImmediate(this.flushRoutes);
    });
  }

  private readonly flushRoutes = (): void => {
    const queue = this.routeQueue;
    this.routeQueue = [];
    for (let i = 0; i < queue.length; i += ROUTE_BATCH_MAX) this.routeBatch(queue.length <= ROUTE_BATCH_MAX ? queue : queue.slice(i, i + ROUTE_BATCH_MAX));
  };

  private routeBatch(batch: RouteItem[]): void {
    let deadline = Infinity;
    for (const b of batch) deadline = Math.min(deadline, b.deadline);
    const remaining = Math.max(1, deadline - Date.now());
    const k = this.node.keys;
    const grace = this.node.inGrace() ? '1' : '';
    if (batch.length === 1) {
      const b = batch[0]!;
      runScript<RouteResult>(this.node.cmd, ROUTE, k.seq, [k.base, b.id, String(this.deadAfterMs), b.frame, grace], remaining).then(b.resolve, b.reject);
      return;
    }
    const args: Array<string | Buffer> = [k.base, String(this.deadAfterMs), grace];
    for (const b of batch) args.push(b.id, b.frame);
    runScript<RouteResult[]>(this.node.cmd, ROUTE_MANY, k.seq, args, remaining).then(
      (rows) =>
        batch.forEach((b, i) => {
          const row = rows[i];
          if (row === undefined) b.reject(new Error(`route_many answered ${rows.length} rows for ${batch.length} requests`));
          else b.resolve(row);
        }),
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
  }

  /** Queues a reply to a node; the replies of this event-loop turn go out in one publish per node. */
  private reply(to: string, frame: Buffer): void {
    const q = this.replyQueue.get(to);
    if (q !== undefined) {
      q.push(frame);
      return;
    }
    this.replyQueue.set(to, [frame]);
    if (this.replyQueue.size === 1) setImmediate(this.flushReplies);
  }

  private readonly flushReplies = (): void => {
    const queue = this.replyQueue;
    this.replyQueue = new Map();
    for (const [to, frames] of queue) this.publishReply(to, frames.length === 1 ? frames[0]! : encodeBatch(frames), frames.length);
  };

  private publishReply(to: string, message: Buffer, replies: number): Promise<void> {
    return this.node.publishTo(to, message).then(
      () => {},
      (err: unknown) => this.log('warn', 'reply', { err: (err as Error).message, replies }, 'cluster: could not publish bus replies'),
    );
  }

  /** A fan-out: script (publish once + node states), local part, replies until the deadline, and who is unaccounted for. */
  private async fan(type: FrameType, sel: Selector, fields: FrameHeader, payload: Buffer | string | undefined, applyLocal: (hub: HubTarget) => unknown) {
    const t0 = performance.now();
    const op: BusOperation = type === FrameType.FANOUT_SEND ? 'fanOut' : 'disconnectAll';
    try {
      const r = await this.fanOnce(type, sel, fields, payload, applyLocal);
      this.obs.busRequest(op, 'ok', performance.now() - t0);
      return r;
    } catch (err) {
      this.obs.busRequest(op, outcomeOf(err), performance.now() - t0);
      throw err;
    }
  }

  private async fanOnce(type: FrameType, sel: Selector, fields: FrameHeader, payload: Buffer | string | undefined, applyLocal: (hub: HubTarget) => unknown) {
    this.admit();
    const hub = this.hub;
    if (hub === undefined) throw new BusUnavailable('bus not started');
    const deadline = Date.now() + this.T;
    const rid = ++this.rid;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const p: Fan = { kind: 'fan', replies: new Map(), waiting: undefined, lost: new Set(), done };
    this.pending.set(rid, p);
    try {
      // A close removes its members from the indexes as it goes: who was a member is read before
      // publishing, so members of a node that answers late are still named (not dropped from the answer).
      let before: Map<string, string> | undefined;
      if (type === FrameType.FANOUT_CLOSE && !('all' in sel)) {
        try {
          before = await this.ownersOf(sel);
        } catch (err) {
          throw busError(err);
        }
      }
      const frame = encodeFrame(type, Object.assign({ rid, from: this.node.nodeId, ts: this.node.redisNow(), sel }, fields), payload);
      let res: [number, string[], string[], string[]];
      try {
        res = await runScript(this.node.cmd, FANOUT, this.node.keys.seq, [this.node.keys.base, String(this.deadAfterMs), frame, this.node.nodeId, this.node.inGrace() ? '1' : ''], this.T);
      } catch (err) {
        throw busError(err);
      }
      const [, alive, suspect, dead] = res;
      const local = applyLocal(hub);
      p.waiting = new Set(alive.filter((n) => !p.replies.has(n)));
      if (p.waiting.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
        clearTimeout(timer);
      }
      // A node that died while we waited may have delivered or not: its members are unknown for a
      // send. For a close they count as closed (the death closed them; the reaper runs $disconnect).
      const silent = new Set([...p.waiting, ...suspect, ...(type === FrameType.FANOUT_SEND ? p.lost : [])]);
      const except = sel.except;
      const named = before;
      const inSilence = named === undefined ? this.membersOn(sel, silent) : Promise.resolve([...named].filter(([, n]) => silent.has(n)).map(([id]) => id));
      const [unknown, gone] = await Promise.all([inSilence, this.membersOn(sel, new Set(dead))]).catch((err: Error) => {
        throw new BusUnconfirmed(`fan-out sent but its silent nodes could not be resolved: ${err.message}`);
      });
      return { local, replies: [...p.replies.values()], unknown: unknown.filter((id) => id !== except), gone: gone.filter((id) => id !== except) };
    } finally {
      this.pending.delete(rid);
    }
  }

  /**
   * The selector's members held by `nodes` (to name them unknown/gone): from the Redis indexes, and
   * from the ghost hashes of nodes reaped meanwhile (the reaper takes their entries out of the indexes).
   */
  private async membersOn(sel: Selector, nodes: Set<string>): Promise<string[]> {
    if (nodes.size === 0) return [];
    const k = this.node.keys;
    const c = this.node.cmd;
    const ghosts = Promise.all([...nodes].map((n) => command<Record<string, string> | null>(c, ['HGETALL', k.ghost(n)], this.T)));
    let live: string[];
    if ('all' in sel) {
      const lists = await Promise.all([...nodes].map((n) => command<string[]>(c, ['SMEMBERS', k.node(n)], this.T)));
      live = lists.flat().map(String);
    } else live = [...(await this.ownersOf(sel))].filter(([, n]) => nodes.has(n)).map(([id]) => id);
    const out = new Set(live);
    for (const h of await ghosts) for (const [id, v] of Object.entries(h ?? {})) if (ghostMatches(sel, String(v))) out.add(id);
    return [...out];
  }

  /** A principal's or group's members and the node holding each, from the Redis indexes. */
  private async ownersOf(sel: Selector): Promise<Map<string, string>> {
    const k = this.node.keys;
    const c = this.node.cmd;
    const out = new Map<string, string>();
    const key = 'principal' in sel ? k.principal(sel.principal) : 'group' in sel ? k.group(sel.group) : undefined;
    if (key === undefined) return out;
    const ids = (await command<string[]>(c, ['ZRANGE', key, '0', '-1'], this.T)).map(String);
    if (ids.length === 0) return out;
    const owners = await command<Array<string | null>>(c, ['HMGET', k.loc, ...ids], this.T);
    ids.forEach((id, i) => {
      if (owners[i] !== null && owners[i] !== undefined) out.set(id, String(owners[i]));
    });
    return out;
  }

  private admit(): void {
    if (this.pending.size >= this.max) throw new BusOverloaded(`more than ${this.max} bus requests in flight`);
    if (this.hub === undefined) throw new BusUnavailable('bus not started');
    if (!this.node.available()) throw new BusUnavailable('Redis unavailable');
  }

  private onReply(h: FrameHeader): void {
    const p = this.pending.get(h.rid ?? -1);
    if (p === undefined) return; // late: its caller already answered
    if (p.kind === 'one') {
      p.settle(h.r === undefined ? null : h.r);
      return;
    }
    if (h.from === undefined) return;
    p.replies.set(h.from, h.r);
    if (p.waiting !== undefined) {
      p.waiting.delete(h.from);
      if (p.waiting.size === 0) p.done();
    }
  }

  /** A node left or was reaped: nobody waits for it any more (its connections are closed). */
  private forgetNode(node: string): void {
    for (const p of this.pending.values()) {
      if (p.kind === 'one') {
        if (p.node === node) p.settle(GONE);
      } else if (p.waiting?.delete(node)) {
        p.lost.add(node);
        if (p.waiting.size === 0) p.done();
      }
    }
  }

  /** Executes a request addressed to this node and publishes the reply to its sender. */
  private serve(f: Frame): void {
    const h = f.header;
    const hub = this.hub;
    if (hub === undefined || h.from === undefined || h.rid === undefined) return;
    // A request that sat in a stalled Redis past its caller's deadline: the caller already answered
    // 503/500, and a message delivered now would arrive out of the blue. Closes still run: the caller
    // was told the outcome is unknown, a close is idempotent, and it is what was asked for.
    const isClose = f.type === FrameType.CLOSE || f.type === FrameType.FANOUT_CLOSE;
    if (!isClose && h.ts !== undefined && this.node.redisNow() - h.ts > this.T) {
      this.staleDropped++;
      this.obs.event('staleRequest');
      this.log('warn', 'stale-request', { from: h.from, ageMs: Math.round(this.node.redisNow() - h.ts) }, 'cluster: dropped a bus request older than its deadline');
      return;
    }
    try {
      switch (f.type) {
        case FrameType.SEND:
          return this.answer(h, sendOutcome(hub.send({ id: h.id! }, f.payload, h.binary === true)));
        case FrameType.CLOSE:
          return this.answer(h, hub.close({ id: h.id! }, h.code ?? 1000, h.reason ?? '').closed > 0, true);
        case FrameType.INFO:
          return this.answer(h, hub.info(h.id!) ?? null);
        case FrameType.INFO_BATCH:
          return this.answer(h, Array.isArray(h.ids) ? h.ids.map((id) => hub.info(String(id)) ?? null) : []);
        case FrameType.JOIN:
          return void hub.join(h.id!, h.group!).then((r) => this.answer(h, r), this.serveFailed);
        case FrameType.LEAVE:
          return void hub.leave(h.id!, h.group!).then(() => this.answer(h, true), this.serveFailed);
        case FrameType.FANOUT_SEND:
          return this.answer(h, hub.send(h.sel as Selector, f.payload, h.binary === true));
        case FrameType.FANOUT_CLOSE:
          return this.answer(h, hub.close(h.sel as Selector, h.code ?? 1000, h.reason ?? ''), true);
        default:
          this.log('warn', 'bad-frame-type', { type: f.type }, 'cluster: dropped a bus frame of unknown type');
      }
    } catch (err) {
      this.serveFailed(err);
    }
  }

  /**
   * Sends a request's reply to its sender. A close's reply goes out at once: the index removals its
   * closes queue a moment later would otherwise go to Redis ahead of it (10,000 for a large principal).
   */
  private answer(h: FrameHeader, r: unknown, isClose = false): void {
    const frame = encodeFrame(FrameType.REPLY, { rid: h.rid, from: this.node.nodeId, r });
    if (isClose) void this.publishReply(h.from!, frame, 1);
    else this.reply(h.from!, frame);
  }

  /** The caller answers 500 (unconfirmed) at its deadline when this node fails to. */
  private readonly serveFailed = (err: unknown): void => {
    this.log('error', 'serve', { err: (err as Error).message }, 'cluster: a bus request failed on this node');
  };
}

const TIMEOUT = Symbol('timeout');

/** The measured operation of a single-connection request frame. */
const OPERATION: Partial<Record<FrameType, BusOperation>> = {
  [FrameType.SEND]: 'send',
  [FrameType.CLOSE]: 'disconnect',
  [FrameType.INFO]: 'info',
  [FrameType.JOIN]: 'join',
  [FrameType.LEAVE]: 'leave',
};

/** Whether a ghost entry (JSON [principal, groupsJson] of a reaped connection) is a member of the selector. */
function ghostMatches(sel: Selector, entry: string): boolean {
  if ('all' in sel) return true;
  try {
    const [principal, groups] = JSON.parse(entry) as [string, string];
    if ('principal' in sel) return principal === sel.principal;
    if ('group' in sel) return groups !== '' && (JSON.parse(groups) as string[]).includes(sel.group);
  } catch {
    // a malformed entry names nobody
  }
  return false;
}

function outcomeOf(err: unknown): BusOutcome {
  if (err instanceof BusOverloaded) return 'overloaded';
  if (err instanceof BusUnavailable) return 'unavailable';
  return 'unconfirmed';
}

function sendOutcome(o: FanOutOutcome): SendOutcome {
  if (o.sent > 0) return 'ok';
  const reason = o.failed[0]?.reason;
  return reason === 'full' ? 'full' : 'gone';
}

/** node-redis failures: never written → BusUnavailable; maybe executed → BusUnconfirmed. */
function busError(err: unknown): Error {
  const kind = (err as Error)?.constructor?.name ?? '';
  const msg = (err as Error)?.message ?? String(err);
  // A deadline passed with the command maybe still queued in a stalled Redis: receivers drop
  // requests older than the deadline, so it cannot be delivered late; answer 503 (retry-safe).
  if (kind === 'RedisDeadline' || kind === 'ClientOfflineError' || kind === 'ClientClosedError' || kind === 'TimeoutError' || kind === 'AbortError') return new BusUnavailable(`Redis unavailable: ${msg}`);
  if (kind === 'SimpleError' || kind === 'ErrorReply' || kind === 'BlobError') return new BusUnavailable(`Redis refused the route script: ${msg}`);
  return new BusUnconfirmed(`Redis connection lost during the request; may have been delivered: ${msg}`);
}

export type { Failure };
