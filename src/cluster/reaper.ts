import type { ClusterConfig } from './config.js';
import { encodeFrame, FrameType } from './frame.js';
import type { ClusterLog, ClusterNode } from './node.js';
import { command, REAP_BATCH, REAP_CANDIDATES, runScript } from './scripts.js';

export interface ReaperOptions {
  node: ClusterNode;
  config: ClusterConfig;
  log?: ClusterLog;
  /** How long one reaper holds a dead node before another may take over (default 30 s). */
  lockMs?: number;
  /** Connections taken out per script call (default 500). */
  batchSize?: number;
  /** Test hook: runs after each batch (a reaper that dies mid-reap is simulated by never resolving). */
  afterBatch?: (deadNode: string) => Promise<void>;
  /** Told of each node this reaper finished. */
  onReaped?: () => void;
}

/**
 * Finds dead nodes and cleans up after them. A node is dead when its lease expired and nobody is
 * subscribed to its channel (its process is gone), or when its lease has been expired for
 * `deadAfterMs` (frozen host, partition). One reaper per dead node (a lock in Redis); the
 * connections are taken out in batches, each batch atomically moving the records into the
 * disconnects stream, so a reaper that dies mid-way leaves nothing half-done and another one
 * finishes after the lock expires. Runs only after this node has been connected to Redis for
 * 2 × leaseMs, so that after an outage live peers get to heartbeat before anyone is judged.
 */
export class Reaper {
  private readonly o: ReaperOptions;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  /** Nodes this reaper finished (for metrics and tests). */
  reaped = 0;

  constructor(o: ReaperOptions) {
    this.o = o;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.config.reaperIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** A route found a dead owner: look now rather than at the next tick. */
  wake(): void {
    if (!this.stopped) setImmediate(() => void this.tick());
  }

  async tick(): Promise<void> {
    const { node, config } = this.o;
    if (this.running || this.stopped || !node.available()) return;
    if (node.inGrace()) return;
    this.running = true;
    try {
      const dead = await runScript<string[]>(node.cmd, REAP_CANDIDATES, node.keys.nodes, [node.keys.base, String(config.deadAfterMs), node.nodeId], config.requestTimeoutMs);
      for (const x of dead) await this.reap(String(x));
    } catch (err) {
      this.o.log?.('warn', 'reaper', { err: (err as Error).message }, 'cluster: reaper tick failed');
    } finally {
      this.running = false;
    }
  }

  private async reap(x: string): Promise<void> {
    const { node, config } = this.o;
    const k = node.keys;
    const me = node.nodeId;
    const lockMs = this.o.lockMs ?? 30_000;
    const got = await command(node.cmd, ['SET', k.reap(x), me, 'NX', 'PX', String(lockMs)], config.requestTimeoutMs);
    if (got === null) return; // another reaper has it
    this.o.log?.('warn', `reap:${x}`, { node: x }, 'cluster: reaping a dead node; its connections get $disconnect (1006)');
    const announce = encodeFrame(FrameType.NODE_DEAD, { node: x, from: me });
    for (;;) {
      if (this.stopped) return;
      const [n, done] = await runScript<[number, number]>(node.cmd, REAP_BATCH, k.seq, [k.base, x, String(this.o.batchSize ?? 500), me, announce, String(ghostMs(config))], config.requestTimeoutMs);
      if (Number(n) < 0) return; // lost the lock
      if (Number(done) === 1) {
        this.reaped++;
        this.o.onReaped?.();
        return;
      }
      if (this.o.afterBatch) await this.o.afterBatch(x);
      await command(node.cmd, ['PEXPIRE', k.reap(x), String(lockMs)], config.requestTimeoutMs);
    }
  }
}

/** How long a reaped node's ghost hash stays: well past any fan-out that could have been waiting on it. */
export function ghostMs(c: ClusterConfig): number {
  return Math.max(60_000, 10 * c.requestTimeoutMs);
}
