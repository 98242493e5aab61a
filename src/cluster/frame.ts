/**
 * The binary frame every bus message travels in: `u8 version | u8 type | u32 headerLength |
 * header JSON | payload`. Payloads stay raw bytes (no base64); the header is small JSON.
 */
export const FRAME_VERSION = 1;

export const enum FrameType {
  SEND = 1,
  CLOSE = 2,
  INFO = 3,
  JOIN = 4,
  LEAVE = 5,
  FANOUT_SEND = 6,
  FANOUT_CLOSE = 7,
  REPLY = 8,
  PROBE = 9,
  NODE_LEFT = 10,
  NODE_DEAD = 11,
  /** Live records of several connections held by the receiving node (listing). */
  INFO_BATCH = 12,
  /** A container of whole frames for one node (`u8 version | u8 13 | (u32 length | frame)…`): requests routed together, replies sent together. */
  BATCH = 13,
}

/** Header fields: `rid` request id, `from` sender node, `ts` Redis server ms at send; the rest per type. */
export interface FrameHeader {
  rid?: number;
  from?: string;
  ts?: number;
  id?: string;
  code?: number;
  reason?: string;
  binary?: boolean;
  group?: string;
  sel?: unknown;
  /** Connection ids of a batch request. */
  ids?: string[];
  /** Reply body. */
  r?: unknown;
  /** The node an announcement is about. */
  node?: string;
}

export interface Frame {
  type: FrameType;
  header: FrameHeader;
  payload: Buffer;
}

const EMPTY = Buffer.alloc(0);

// Written in place (write, TypedArray set): Buffer.from + copy cost about three times as much,
// and every remote request and reply is encoded once.
export function encodeFrame(type: FrameType, header: FrameHeader, payload?: Buffer | string): Buffer {
  const h = JSON.stringify(header);
  const hl = Buffer.byteLength(h);
  const p = payload === undefined ? EMPTY : typeof payload === 'string' ? Buffer.from(payload) : payload;
  const out = Buffer.allocUnsafe(6 + hl + p.length);
  out[0] = FRAME_VERSION;
  out[1] = type;
  out.writeUInt32BE(hl, 2);
  out.write(h, 6, hl, 'utf8');
  out.set(p, 6 + hl);
  return out;
}

/** undefined for anything that is not a frame of this version (counted and dropped by the caller). */
export function decodeFrame(buf: Buffer): Frame | undefined {
  if (buf.length < 6 || buf[0] !== FRAME_VERSION) return undefined;
  const len = buf.readUInt32BE(2);
  if (6 + len > buf.length) return undefined;
  try {
    const header = JSON.parse(buf.toString('utf8', 6, 6 + len)) as FrameHeader;
    if (header === null || typeof header !== 'object') return undefined;
    return { type: buf[1] as FrameType, header, payload: buf.subarray(6 + len) };
  } catch {
    return undefined;
  }
}

/** A BATCH container of whole encoded frames (the route script builds the same layout in Lua). */
export function encodeBatch(frames: readonly Buffer[]): Buffer {
  let size = 2;
  for (const f of frames) size += 4 + f.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = FRAME_VERSION;
  out[1] = FrameType.BATCH;
  let at = 2;
  for (const f of frames) {
    out.writeUInt32BE(f.length, at);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/**
 * The frames of a message: one, or each frame of a BATCH container. A container whose lengths do
 * not add up yields what parsed before the fault and then an undefined (counted as a bad frame).
 */
export function decodeMessage(buf: Buffer): Array<Frame | undefined> {
  if (buf.length < 2 || buf[0] !== FRAME_VERSION || buf[1] !== FrameType.BATCH) return [decodeFrame(buf)];
  const out: Array<Frame | undefined> = [];
  let at = 2;
  while (at < buf.length) {
    if (at + 4 > buf.length) return [...out, undefined];
    const end = at + 4 + buf.readUInt32BE(at);
    if (end > buf.length) return [...out, undefined];
    const f = decodeFrame(buf.subarray(at + 4, end));
    out.push(f);
    at = end;
  }
  return out;
}
