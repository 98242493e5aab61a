import { hostname } from 'node:os';
import type { ClusterConfig } from './config.js';
import { newNodeId } from './config.js';
import { decodeMessage, encodeFrame, FrameType, type Frame } from './frame.js';
import { StageKeys } from './keys.js';
import { redisLink, type RedisLink } from './redis-link.js';
import { command, HEARTBEAT, runScript } from './scripts.js';

type Level = 'info' | 'warn' | 'error';
/** Rate-limited logging hook (a LogLimiter's `log` in the gateway). */
export type ClusterLog = (level: Level, key: string, fields: Record<string, unknown>, msg: string) => void;

/** What the node tells the rest of cluster mode about its life. */
export interface NodeEvents {
  /** A frame arrived on this node's channel or the control channel (probes are handled here). */
  frame(f: Frame): void;
  /** This node was reaped while cut off: close every local client without $disconnect. The node then rejoins under a new id. */
  dead(oldId: string): Promise<void>;
  /** Redis lost its data (or another node rebuilt it): re-project every local connection. */
  regen(): Promise<void>;
  /** Redis is reachable again after an outage, data kept: flush pending writes and diff. */
  recovered(): Promise<void>;
}

export interface ClusterNodeOptions {
  config: ClusterConfig;
  keys: StageKeys;
  nodeId: string;
  log?: ClusterLog;
  /** Told when a subscription is restored: the subscriber reconnected, or the probe found it dead and recreated it. */
  onResubscribed?: () => void;
}

const generation = () => newNodeId();

/**
 * One gateway process's membership in the cluster: its two Redis connections (commands, and a
 * subscriber for its own channel and the control channel), the lease heartbeat on Redis server
 * time, the self-probe that recreates a subscriber whose subscription died silently, and the
 * watchdog that marks Redis unavailable when heartbeats stop being answered.
 */
export class ClusterNode {
  nodeId: string;
  readonly keys: StageKeys;
  readonly cmd: RedisLink;
  private sub: RedisLink;
  private readonly c: ClusterConfig;
  private readonly log: ClusterLog;
  private readonly onResubscribed: () => void;
  private events: NodeEvents | undefined;
  /** The generation this node's projection belongs to ('' before joining). */
  private gen = '';
  /** Redis server ms minus local ms, from the last heartbeat (midpoint of the round trip). */
  private offset = 0;
  private up = false;
  private recovering = false;
  private fenced = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private hbInFlight = false;
  private hbStartedAt = 0;
  private lastProbeAt = 0;
  private subStartedAt = 0;
  private resubscribing = false;
  /** Since when Redis has answered heartbeats without a break (0: not now). The reaper waits out a grace after it. */
  connectedSince = 0;
  /** Ids this process had before it was fenced (records naming them are re-homed to the current id). */
  readonly formerIds = new Set<string>();
  /** Heartbeats are skipped (tests: a frozen node whose sockets stay open). */
  heartbeatPaused = false;

  constructor(o: ClusterNodeOptions) {
    this.c = o.config;
    this.keys = o.keys;
    this.nodeId = o.nodeId;
    this.log = o.log ?? (() => {});
    this.onResubscribed = o.onResubscribed ?? (() => {});
    this.cmd = redisLink(this.c, (err: Error) => {
      this.log('warn', 'redis-error', { err: err.message }, 'cluster: Redis command connection error');
      this.markDown();
    });
    this.sub = this.newSubscriber();
  }

  /**
   * True until this node has been connected to Redis for 2 × leaseMs: after an outage or a failover,
   * peers get that long to heartbeat and resubscribe before anyone judges them dead.
   */
  inGrace(): boolean {
    return this.connectedSince === 0 || Date.now() - this.connectedSince < 2 * this.c.leaseMs;
  }

  /** Redis server time now, estimated from the last heartbeat (ms). */
  redisNow(): number {
    return Date.now() + this.offset;
  }

  /** Redis reachable, this node joined and its subscription proven by its own probe. */
  available(): boolean {
    return this.up && !this.fenced && !this.closed && Date.now() - this.lastProbeAt <= 3 * this.c.heartbeatMs + this.c.heartbeatMs;
  }

  /** Connects, joins (lease, generation, node info) and subscribes; rejects after startupTimeoutMs without Redis. */
  async start(events: NodeEvents): Promise<void> {
    this.events = events;
    const deadline = Date.now() + this.c.startupTimeoutMs;
    const connect = this.cmd.connect();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connect,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`cluster: Redis not reachable within ${this.c.startupTimeoutMs} ms`)), this.c.startupTimeoutMs);
        }),
      ]);
    } catch (err) {
      this.cmd.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await this.subscribe(this.sub);
    for (;;) {
      if (await this.beat()) break;
      if (Date.now() > deadline) throw new Error('cluster: could not join (heartbeat failed)');
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.writeInfo();
    this.timer = setInterval(() => void this.tick(), this.c.heartbeatMs);
    this.timer.unref();
  }

  /** Graceful leave: the node's lease, info and channel go; peers are told at once. */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    try {
      await command(this.cmd, ['ZREM', this.keys.nodes, this.nodeId], this.c.requestTimeoutMs);
      await command(this.cmd, ['DEL', this.keys.info(this.nodeId)], this.c.requestTimeoutMs);
      await command(this.cmd, ['PUBLISH', this.keys.ctl, encodeFrame(FrameType.NODE_LEFT, { node: this.nodeId, from: this.nodeId })], this.c.requestTimeoutMs);
    } catch (err) {
      this.log('warn', 'leave', { err: (err as Error).message }, 'cluster: could not announce leaving; peers will reap this node');
    }
    this.sub.destroy();
    await this.cmd.close();
  }

  /** Drops both Redis connections at once, without a word (what a SIGKILL looks like to Redis). For tests. */
  crash(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.sub.destroy();
    this.cmd.destroy();
  }

  /** Publishes a frame on a node's channel (replies, peer requests). Rejects when Redis is unreachable. */
  publishTo(node: string, frame: Buffer): Promise<number> {
    return command<number>(this.cmd, ['PUBLISH', this.keys.channel(node), frame], this.c.requestTimeoutMs);
  }

  private newSubscriber(): RedisLink {
    const sub = this.cmd.duplicate((err: Error) => this.log('warn', 'redis-sub-error', { err: err.message }, 'cluster: Redis subscriber connection error'));
    // node-redis resubscribes a reconnected subscriber by itself: a restored subscription too.
    sub.onRestored(() => this.onResubscribed());
    return sub;
  }

  private async subscribe(sub: RedisLink): Promise<void> {
    if (!sub.isOpen) await sub.connect();
    await sub.subscribe([this.keys.channel(this.nodeId), this.keys.ctl], (msg: Buffer) => this.onMessage(msg));
    this.subStartedAt = Date.now();
    this.lastProbeAt = Date.now();
  }

  private onMessage(msg: Buffer): void {
    for (const f of decodeMessage(msg)) this.onFrame(f, msg.length);
  }

  private onFrame(f: Frame | undefined, bytes: number): void {
    if (f === undefined) {
      this.log('warn', 'bad-frame', { bytes }, 'cluster: dropped a message that is not a bus frame');
      return;
    }
    if (f.type === FrameType.PROBE) {
      if (f.header.from === this.nodeId) this.lastProbeAt = Date.now();
      return;
    }
    this.events?.frame(f);
  }

  private markDown(): void {
    if (this.up) this.log('warn', 'redis-down', { node: this.nodeId }, 'cluster: Redis unavailable; remote calls answer 503 until it is back');
    this.up = false;
    this.connectedSince = 0;
  }

  private async tick(): Promise<void> {
    if (this.closed || this.heartbeatPaused) return;
    if (this.hbInFlight) {
      // Watchdog: an unanswered heartbeat means Redis (or the path to it) stalls; fail fast.
      if (Date.now() - this.hbStartedAt > 2 * this.c.heartbeatMs) this.markDown();
      return;
    }
    await this.beat();
    // Probe: heartbeats succeed but our own PROBE did not come back → the subscription is dead.
    if (this.up && !this.resubscribing && Date.now() - this.lastProbeAt > 3 * this.c.heartbeatMs && Date.now() - this.subStartedAt > 3 * this.c.heartbeatMs) {
      void this.resubscribe();
    }
  }

  /** One heartbeat; true when Redis answered. */
  private async beat(): Promise<boolean> {
    this.hbInFlight = true;
    const t0 = (this.hbStartedAt = Date.now());
    try {
      const probe = encodeFrame(FrameType.PROBE, { from: this.nodeId });
      const [status, gen, now] = await runScript<[string, string, number]>(
        this.cmd,
        HEARTBEAT,
        this.keys.gen,
        [this.keys.base, this.nodeId, this.gen, generation(), String(this.c.leaseMs), probe],
        2 * this.c.heartbeatMs,
      );
      this.offset = Math.round(Number(now) - (t0 + Date.now()) / 2);
      if (status === 'DEAD') {
        await this.fence();
        return false;
      }
      const wasUp = this.up;
      const joining = this.gen === '';
      this.gen = gen;
      if (this.connectedSince === 0) this.connectedSince = Date.now();
      if (status === 'REGEN') {
        this.log('warn', 'regen', { node: this.nodeId }, 'cluster: Redis lost its data; re-projecting local connections');
        this.up = false;
        this.recover(() => this.events!.regen());
      } else if (!wasUp && !this.recovering) {
        if (joining) this.up = true;
        else this.recover(() => this.events!.recovered());
      }
      return true;
    } catch (err) {
      this.markDown();
      this.log('warn', 'heartbeat', { err: (err as Error).message }, 'cluster: heartbeat failed');
      return false;
    } finally {
      this.hbInFlight = false;
    }
  }

  /** Runs a recovery in the background (heartbeats go on) and marks the node available after it. */
  private recover(run: () => Promise<void>): void {
    if (this.recovering) return;
    this.recovering = true;
    run()
      .then(() => {
        this.up = true;
        this.log('info', 'recovered', { node: this.nodeId }, 'cluster: Redis available again; local connections reconciled');
      })
      .catch((err: Error) => this.log('warn', 'recover', { err: err.message }, 'cluster: reconciliation failed; retrying on the next heartbeat'))
      .finally(() => {
        this.recovering = false;
      });
  }

  /** This node was reaped: local clients close without $disconnect; rejoin under a fresh id. */
  private async fence(): Promise<void> {
    if (this.fenced) return;
    this.fenced = true;
    this.up = false;
    const old = this.nodeId;
    this.log('error', 'fenced', { node: old }, 'cluster: this node was declared dead while cut off; closing its clients and rejoining under a new id');
    try {
      await this.events?.dead(old);
    } finally {
      await this.sub.unsubscribe().catch(() => {});
      this.formerIds.add(old);
      this.nodeId = newNodeId();
      this.gen = '';
      try {
        await this.subscribe(this.sub);
        if (await this.beat()) await this.writeInfo();
      } catch (err) {
        this.log('warn', 'rejoin', { err: (err as Error).message }, 'cluster: rejoin failed; retrying on the next heartbeat');
      }
      this.fenced = false;
    }
  }

  private async resubscribe(): Promise<void> {
    this.resubscribing = true;
    this.log('warn', 'probe', { node: this.nodeId }, 'cluster: own probe did not come back; recreating the subscriber');
    try {
      this.sub.destroy();
      this.sub = this.newSubscriber();
      await this.subscribe(this.sub);
      this.onResubscribed();
    } catch (err) {
      this.log('warn', 'resubscribe', { err: (err as Error).message }, 'cluster: recreating the subscriber failed; retrying');
      this.subStartedAt = Date.now();
    } finally {
      this.resubscribing = false;
    }
  }

  private async writeInfo(): Promise<void> {
    await command(this.cmd, ['HSET', this.keys.info(this.nodeId), 'host', hostname(), 'pid', String(process.pid), 'started', String(Date.now())], this.c.requestTimeoutMs).catch(() => {});
  }
}
