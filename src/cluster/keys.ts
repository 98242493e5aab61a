import { createHash } from 'node:crypto';

/** Names longer than this (bytes) are keyed by a digest; the raw value stays in the record. */
const MAX_RAW = 200;

/**
 * Every key and channel of one stage, under one hash tag `{apiId/stage}` so that all of them
 * land on one slot (Lua scripts may touch any of them; Redis Cluster stays usable).
 * The scripts build the per-connection/principal/group names themselves from `base`, with
 * the same rules as here (see `member` in scripts.ts).
 */
export class StageKeys {
  /** `PREFIX:{apiId/stage}:` — every name below starts with it. */
  readonly base: string;
  readonly seq: string;
  readonly gen: string;
  readonly loc: string;
  readonly all: string;
  readonly nodes: string;
  readonly rebuild: string;
  readonly disconnects: string;
  /** The control channel every node subscribes to (fan-outs, node announcements). */
  readonly ctl: string;

  constructor(prefix: string, apiId: string, stage: string) {
    this.base = `${prefix}:{${apiId}/${stage}}:`;
    this.seq = this.base + 'seq';
    this.gen = this.base + 'gen';
    this.loc = this.base + 'loc';
    this.all = this.base + 'all';
    this.nodes = this.base + 'nodes';
    this.rebuild = this.base + 'rebuild';
    this.disconnects = this.base + 'disconnects';
    this.ctl = this.base + 'ctl';
  }

  /** Record hash of a connection. */
  conn(id: string): string {
    return this.base + 'c:' + id;
  }
  /** Zset of a principal's connections (score = seq). */
  principal(p: string): string {
    return this.base + 'p:' + member(p);
  }
  /** Zset of a group's connections (score = seq). */
  group(g: string): string {
    return this.base + 'g:' + member(g);
  }
  /** Set of the connections a node holds. */
  node(n: string): string {
    return this.base + 'n:' + n;
  }
  /** A node's command channel. */
  channel(n: string): string {
    return this.base + 'node:' + n;
  }
  info(n: string): string {
    return this.base + 'node:' + n + ':info';
  }
  /** Tombstone of a reaped node. */
  dead(n: string): string {
    return this.base + 'dead:' + n;
  }
  /**
   * Hash of a reaped node's connections (id → JSON [principal, groupsJson]), kept a short while so a
   * fan-out that was waiting on the node can still name its members (their fate is unknown).
   */
  ghost(n: string): string {
    return this.base + 'ghost:' + n;
  }
  /** Reaper lock for a dead node. */
  reap(n: string): string {
    return this.base + 'reap:' + n;
  }
}

/** A principal or group name as it appears in a key: raw, or `#sha1` when long (same rule as the scripts). */
export function member(name: string): string {
  return Buffer.byteLength(name) > MAX_RAW ? '#' + createHash('sha1').update(name).digest('hex') : name;
}
