import { WebSocket, type ClientOptions } from 'ws';

/** A message as the client received it. */
export interface Received {
  data: Buffer;
  binary: boolean;
  text: string;
}

/**
 * A real `ws` client with an inbox, so tests read messages in order and await closes.
 * Every wait has a timeout: a test fails with a message rather than hanging.
 */
export class TestClient {
  readonly inbox: Received[] = [];
  private waiters: Array<() => void> = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.inbox.push({ data, binary, text: data.toString() });
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
  }

  /** Connects; rejects with the HTTP status when the handshake is refused. */
  static connect(url: string, opts: ClientOptions & { protocols?: string[] } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts.protocols ?? [], opts);
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.once('error', (err) => reject(err));
    });
  }

  send(data: string | Buffer | object, binary = false): void {
    this.ws.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data), { binary });
  }

  /** The next message not yet taken. */
  async next(timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.inbox.shift()!;
  }

  /** The next message parsed as JSON. */
  async json<T = any>(timeoutMs = 3000): Promise<T> {
    return JSON.parse((await this.next(timeoutMs)).text) as T;
  }

  /** Sends and waits for the answer. */
  async request(data: string | object, timeoutMs = 3000): Promise<Received> {
    this.send(data);
    return this.next(timeoutMs);
  }

  /** Resolves with the close code and reason, or rejects after `timeoutMs`. */
  async waitClose(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    return Promise.race([this.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs).unref())]);
  }

  /** Asserts that nothing arrives within `ms`. */
  async expectSilence(ms = 200): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.inbox.length) throw new Error(`expected no message, got ${this.inbox[0]!.text}`);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

/** Waits until `predicate` holds, polling; fails with `what` after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `until` for a predicate that must ask over the network (a Redis command, an HTTP call); polls every 50 ms. */
export async function untilAsync(predicate: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
