import { createHash } from 'node:crypto';

/**
 * The Lua scripts of cluster mode. Every script takes the stage's key base (`PREFIX:{api/stage}:`)
 * as ARGV[1] and one real key of the stage as KEYS[1] (so a Redis Cluster routes it to the
 * stage's slot); names of per-connection, principal and group keys are built inside from the
 * base, with `mk` giving the same digest rule as keys.ts `member`.
 * Scripts use Redis server time only (TIME), so gateway clocks may drift.
 */
const PRELUDE = `
local B = ARGV[1]
local function mk(name) if string.len(name) > 200 then return '#' .. redis.sha1hex(name) end return name end
local function now_ms() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
local function totable(a) local t = {} for i = 1, #a, 2 do t[a[i]] = a[i + 1] end return t end
local function unindex(id, rec)
  redis.call('ZREM', B .. 'all', id)
  redis.call('HDEL', B .. 'loc', id)
  if rec.n then redis.call('SREM', B .. 'n:' .. rec.n, id) end
  if rec.p and rec.p ~= '' then redis.call('ZREM', B .. 'p:' .. mk(rec.p), id) end
  if rec.g and rec.g ~= '' then for _, g in ipairs(cjson.decode(rec.g)) do redis.call('ZREM', B .. 'g:' .. mk(g), id) end end
end
-- alive: lease valid; suspect: lease expired but still subscribed, not yet deadAfter; dead otherwise or tombstoned.
local function liveness(node, lease, now, deadAfter)
  if redis.call('EXISTS', B .. 'dead:' .. node) == 1 then return 'dead' end
  if not lease then return 'dead' end
  if lease >= now then return 'alive' end
  local ns = redis.call('PUBSUB', 'NUMSUB', B .. 'node:' .. node)
  if tonumber(ns[2]) == 0 or now - lease >= deadAfter then return 'dead' end
  return 'suspect'
end
`;

/** A script: its source (prelude included) and SHA1 for EVALSHA. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, body: string): Script {
  const source = PRELUDE + body;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * The body of conn_add as a Lua function over ARGV[o..e]: id, node, seq|'', principal|'',
 * groupsJson|'', field, value, … Replaces any earlier record of the id; a given seq (re-projection)
 * keeps the listing order and raises the counter to it. Returns the seq.
 */
const ADD_FUNCTION = `
local function add(o, e)
  local id, node, seq, principal, groups = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4]
  local ck = B .. 'c:' .. id
  local old = redis.call('HGETALL', ck)
  if #old > 0 then unindex(id, totable(old)); redis.call('DEL', ck) end
  local s
  if seq ~= '' then
    s = tonumber(seq)
    local cur = tonumber(redis.call('GET', B .. 'seq') or '0')
    if cur < s then redis.call('SET', B .. 'seq', s) end
  else
    s = redis.call('INCR', B .. 'seq')
  end
  local f = {'n', node, 's', s}
  for i = o + 5, e, 2 do f[#f + 1] = ARGV[i]; f[#f + 1] = ARGV[i + 1] end
  if principal ~= '' then f[#f + 1] = 'p'; f[#f + 1] = principal end
  if groups ~= '' then f[#f + 1] = 'g'; f[#f + 1] = groups end
  redis.call('HSET', ck, unpack(f))
  redis.call('HSET', B .. 'loc', id, node)
  redis.call('ZADD', B .. 'all', s, id)
  redis.call('SADD', B .. 'n:' .. node, id)
  if principal ~= '' then redis.call('ZADD', B .. 'p:' .. mk(principal), s, id) end
  if groups ~= '' then for _, g in ipairs(cjson.decode(groups)) do redis.call('ZADD', B .. 'g:' .. mk(g), s, id) end end
  return s
end
`;

/** conn_add(B, id, node, seq|'', principal|'', groupsJson|'', field, value, …) → seq (see ADD_FUNCTION). */
export const CONN_ADD = script('conn_add', ADD_FUNCTION + 'return add(2, #ARGV)\n');

/**
 * conn_add_many(B, count, id, node, …, count, id, node, …) → {seq, …}: conn_add for several
 * records, each given as the number of its arguments followed by conn_add's arguments.
 */
export const CONN_ADD_MANY = script(
  'conn_add_many',
  ADD_FUNCTION +
    `
local out, i = {}, 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  out[#out + 1] = add(i + 1, i + n)
  i = i + n + 1
end
return out
`,
);

/** conn_remove(B, id, node|'') → 1 when this call removed the record (the $disconnect claim), else 0. */
export const CONN_REMOVE = script(
  'conn_remove',
  `
local ck = B .. 'c:' .. ARGV[2]
local a = redis.call('HGETALL', ck)
if #a == 0 then return 0 end
local rec = totable(a)
if ARGV[3] ~= '' and rec.n ~= ARGV[3] then return 0 end
unindex(ARGV[2], rec)
redis.call('DEL', ck)
return 1
`,
);

/** set_principal(B, id, principal) → 1, or 0 when the record is unknown. */
export const SET_PRINCIPAL = script(
  'set_principal',
  `
local ck = B .. 'c:' .. ARGV[2]
local a = redis.call('HGETALL', ck)
if #a == 0 then return 0 end
local rec = totable(a)
if rec.p and rec.p ~= '' then redis.call('ZREM', B .. 'p:' .. mk(rec.p), ARGV[2]) end
redis.call('HSET', ck, 'p', ARGV[3])
redis.call('ZADD', B .. 'p:' .. mk(ARGV[3]), rec.s, ARGV[2])
return 1
`,
);

/** join(B, id, group) → 1, or 0 when the record is unknown. Groups live in the record (`g`, JSON list). */
export const JOIN = script(
  'join',
  `
local ck = B .. 'c:' .. ARGV[2]
local a = redis.call('HGETALL', ck)
if #a == 0 then return 0 end
local rec = totable(a)
local gs = {}
if rec.g and rec.g ~= '' then gs = cjson.decode(rec.g) end
for _, g in ipairs(gs) do if g == ARGV[3] then return 1 end end
gs[#gs + 1] = ARGV[3]
redis.call('HSET', ck, 'g', cjson.encode(gs))
redis.call('ZADD', B .. 'g:' .. mk(ARGV[3]), rec.s, ARGV[2])
return 1
`,
);

/** leave(B, id, group) → 1 when it was a member. */
export const LEAVE = script(
  'leave',
  `
local ck = B .. 'c:' .. ARGV[2]
local g = redis.call('HGET', ck, 'g')
if not g or g == '' then return 0 end
local gs, out, found = cjson.decode(g), {}, 0
for _, x in ipairs(gs) do if x == ARGV[3] then found = 1 else out[#out + 1] = x end end
if found == 0 then return 0 end
if #out == 0 then redis.call('HDEL', ck, 'g') else redis.call('HSET', ck, 'g', cjson.encode(out)) end
redis.call('ZREM', B .. 'g:' .. mk(ARGV[3]), ARGV[2])
return 1
`,
);

/**
 * route(B, id, deadAfterMs, frame, grace) → {status, node, receivers}. grace '1': the caller only just
 * (re)connected to Redis, so peers may not have heartbeated or resubscribed yet; only a tombstone
 * makes an owner dead then (an outage or failover never produces a 410). status: `sent` (published to the
 * owner's channel; receivers 0 = nobody subscribed right now), `gone` (no record, no rebuild),
 * `retry` (no record but Redis is being rebuilt), `suspect` (owner's lease expired, not yet dead:
 * nothing published), `dead` (owner known dead: final).
 */
export const ROUTE = script(
  'route',
  `
local node = redis.call('HGET', B .. 'loc', ARGV[2])
if not node then
  if redis.call('EXISTS', B .. 'rebuild') == 1 or redis.call('EXISTS', B .. 'gen') == 0 then return {'retry', '', 0} end
  return {'gone', '', 0}
end
local lease = redis.call('ZSCORE', B .. 'nodes', node)
local st = liveness(node, lease and tonumber(lease), now_ms(), tonumber(ARGV[3]))
if st == 'dead' and ARGV[5] == '1' and redis.call('EXISTS', B .. 'dead:' .. node) == 0 then st = 'suspect' end
if st ~= 'alive' then return {st, node, 0} end
return {'sent', node, redis.call('PUBLISH', B .. 'node:' .. node, ARGV[4])}
`,
);

/**
 * route_many(B, deadAfterMs, grace, id1, frame1, id2, frame2, …) → {{status, node, receivers}, …}:
 * `route` for many requests at once (statuses as there), with one PUBLISH per owner carrying its
 * frames in a BATCH container (`\1\13` then a u32 length before each frame). Each owner's lease
 * is read once.
 */
export const ROUTE_MANY = script(
  'route_many',
  `
local da, grace = tonumber(ARGV[2]), ARGV[3]
local now, rebuilding
local state, parts, owners, out = {}, {}, {}, {}
local ids = {}
for i = 4, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local locs = redis.call('HMGET', B .. 'loc', unpack(ids))
for j, id in ipairs(ids) do
  local frame, node = ARGV[3 + 2 * j], locs[j]
  if not node then
    if rebuilding == nil then rebuilding = redis.call('EXISTS', B .. 'rebuild') == 1 or redis.call('EXISTS', B .. 'gen') == 0 end
    out[#out + 1] = {rebuilding and 'retry' or 'gone', '', 0}
  else
    local st = state[node]
    if st == nil then
      now = now or now_ms()
      local lease = redis.call('ZSCORE', B .. 'nodes', node)
      st = liveness(node, lease and tonumber(lease), now, da)
      if st == 'dead' and grace == '1' and redis.call('EXISTS', B .. 'dead:' .. node) == 0 then st = 'suspect' end
      state[node] = st
    end
    if st == 'alive' then
      local p = parts[node]
      if p == nil then p = {string.char(1, 13)}; parts[node] = p; owners[#owners + 1] = node end
      p[#p + 1] = struct.pack('>I4', #frame)
      p[#p + 1] = frame
    end
    out[#out + 1] = {st == 'alive' and 'sent' or st, node, 0}
  end
end
local receivers = {}
for _, node in ipairs(owners) do receivers[node] = redis.call('PUBLISH', B .. 'node:' .. node, table.concat(parts[node])) end
for _, o in ipairs(out) do if o[1] == 'sent' then o[3] = receivers[o[2]] end end
return out
`,
);

/**
 * fanout(B, deadAfterMs, frame, me, grace) → {receivers, alive[], suspect[], dead[]} (other nodes only; grace as for route),
 * after publishing the frame once on the control channel.
 */
export const FANOUT = script(
  'fanout',
  `
local now, da = now_ms(), tonumber(ARGV[2])
local z = redis.call('ZRANGE', B .. 'nodes', 0, -1, 'WITHSCORES')
local alive, suspect, dead = {}, {}, {}
for i = 1, #z, 2 do
  local n = z[i]
  if n ~= ARGV[4] then
    local st = liveness(n, tonumber(z[i + 1]), now, da)
    if st == 'dead' and ARGV[5] == '1' and redis.call('EXISTS', B .. 'dead:' .. n) == 0 then st = 'suspect' end
    if st == 'alive' then alive[#alive + 1] = n elseif st == 'suspect' then suspect[#suspect + 1] = n else dead[#dead + 1] = n end
  end
end
local c = redis.call('PUBLISH', B .. 'ctl', ARGV[3])
return {c, alive, suspect, dead}
`,
);

/**
 * heartbeat(B, me, myGen|'', newGen, leaseMs, probeFrame) → {status, gen, redisNowMs}.
 * status: DEAD (this node was reaped: fence), REGEN (Redis lost its data or was rebuilt: re-project;
 * the rebuild window is opened), OK. An empty myGen is a join.
 */
export const HEARTBEAT = script(
  'heartbeat',
  `
local me, lease = ARGV[2], tonumber(ARGV[5])
local now = now_ms()
if redis.call('EXISTS', B .. 'dead:' .. me) == 1 then return {'DEAD', '', now} end
local g = redis.call('GET', B .. 'gen')
local status = 'OK'
if not g then
  g = ARGV[4]
  redis.call('SET', B .. 'gen', g)
  if ARGV[3] ~= '' then status = 'REGEN' end
elseif g ~= ARGV[3] and ARGV[3] ~= '' then
  status = 'REGEN'
end
if status == 'REGEN' then redis.call('SET', B .. 'rebuild', '1', 'PX', 2 * lease) end
redis.call('ZADD', B .. 'nodes', now + lease, me)
redis.call('PUBLISH', B .. 'node:' .. me, ARGV[6])
return {status, g, now}
`,
);

/** reap_candidates(B, deadAfterMs, me) → ids of dead nodes other than me. */
export const REAP_CANDIDATES = script(
  'reap_candidates',
  `
local now, da = now_ms(), tonumber(ARGV[2])
local z = redis.call('ZRANGEBYSCORE', B .. 'nodes', '-inf', '(' .. now, 'WITHSCORES')
local out = {}
for i = 1, #z, 2 do
  local n = z[i]
  if n ~= ARGV[3] and liveness(n, tonumber(z[i + 1]), now, da) == 'dead' then out[#out + 1] = n end
end
return out
`,
);

/**
 * reap_batch(B, node, batchSize, me, nodeDeadFrame, ghostMs) → {reaped, done}; reaped -1 when `me` no
 * longer holds the reap lock. Tombstones the node, takes up to batchSize of its connections out of
 * every index, appends each record to the disconnects stream and names it in the node's ghost hash
 * (expiring after ghostMs), atomically; when none is left, removes the node and announces NODE_DEAD
 * on the control channel.
 */
export const REAP_BATCH = script(
  'reap_batch',
  `
local node = ARGV[2]
if redis.call('GET', B .. 'reap:' .. node) ~= ARGV[4] then return {-1, 0} end
redis.call('SET', B .. 'dead:' .. node, '1', 'EX', 86400)
local ids = redis.call('SPOP', B .. 'n:' .. node, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  local ck = B .. 'c:' .. id
  local a = redis.call('HGETALL', ck)
  if #a > 0 then
    local rec = totable(a)
    if rec.n == node then
      unindex(id, rec)
      redis.call('DEL', ck)
      redis.call('XADD', B .. 'disconnects', '*', 'id', id, unpack(a))
      redis.call('HSET', B .. 'ghost:' .. node, id, cjson.encode({rec.p or '', rec.g or ''}))
      n = n + 1
    end
  end
end
if n > 0 then redis.call('PEXPIRE', B .. 'ghost:' .. node, tonumber(ARGV[6])) end
if redis.call('SCARD', B .. 'n:' .. node) == 0 then
  redis.call('ZREM', B .. 'nodes', node)
  redis.call('DEL', B .. 'node:' .. node .. ':info', B .. 'reap:' .. node)
  redis.call('PUBLISH', B .. 'ctl', ARGV[5])
  return {n, 1}
end
return {n, 0}
`,
);

/** What runs commands: a node-redis client (or Sentinel client) through `sendCommand`. */
export interface Commands {
  sendCommand<T = unknown>(args: ReadonlyArray<string | Buffer>, options?: { timeout?: number; abortSignal?: AbortSignal }): Promise<T>;
}

/** Redis did not answer by the caller's deadline (the command may still run later: callers guard with a stale-request drop). */
export class RedisDeadline extends Error {
  override name = 'RedisDeadline';
}

/**
 * One command with a hard deadline. node-redis's own `timeout` does not fire for a command
 * already written to a stalled server (SIGSTOP, frozen network), so the deadline is raced here.
 */
export function command<T>(c: Commands, args: ReadonlyArray<string | Buffer>, timeoutMs: number): Promise<T> {
  // No node-redis `timeout` option: it costs an AbortSignal per command, and this timer already
  // bounds the wait (the offline queue is off, so nothing waits unwritten across a disconnect).
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisDeadline(`Redis did not answer ${String(args[0])} within ${timeoutMs} ms`)), timeoutMs);
    c.sendCommand<T>(args).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Runs a script with EVALSHA, loading it with EVAL on NOSCRIPT (a restarted or flushed Redis has
 * forgotten it). `keyOfSlot` is one key of the stage (routing in a Redis Cluster).
 */
export async function runScript<T>(c: Commands, s: Script, keyOfSlot: string, args: ReadonlyArray<string | Buffer>, timeoutMs: number): Promise<T> {
  try {
    return await command<T>(c, ['EVALSHA', s.sha, '1', keyOfSlot, ...args], timeoutMs);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return command<T>(c, ['EVAL', s.source, '1', keyOfSlot, ...args], timeoutMs);
  }
}

/** ZRANGE … WITHSCORES as [member, score] pairs, whether RESP3 (pairs) or RESP2 (flat) answered. */
export function pairsOf(rows: Array<[string, number]> | string[]): Array<[string, number]> {
  if (rows.length === 0) return [];
  if (Array.isArray(rows[0])) return (rows as Array<[string, number]>).map(([m, s]) => [String(m), Number(s)]);
  const out: Array<[string, number]> = [];
  for (let i = 0; i < rows.length; i += 2) out.push([String(rows[i]), Number(rows[i + 1])]);
  return out;
}
