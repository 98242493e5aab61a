import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One event a gateway POSTed to the recorder. */
export interface RecordedEvent {
  routeKey: string;
  eventType: string;
  connectionId: string;
  body: string | undefined;
  /** `$disconnect` only. */
  disconnectStatusCode?: number;
  disconnectReason?: string;
  event: any;
}

/**
 * An HTTP backend for gateways in other processes: every route of every node posts its events
 * here, so a test counts `$connect`/`$disconnect`/messages of a whole cluster in one place.
 * `$connect` with `?user=U&group=G` answers with the `switchboard` directives setting the
 * principal and joining the group; `?deny=1` refuses. Messages echo `echo: BODY` back.
 */
export interface EventRecorder {
  readonly base: string;
  readonly events: RecordedEvent[];
  of(routeKey: string): RecordedEvent[];
  /** The connection id of the client that connected with `?tag=TAG` (waits for its $connect). */
  idOf(tag: string, timeoutMs?: number): Promise<string>;
  /** `routes:` for a gateway config: $connect, $disconnect, $default (echo). */
  routes(): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startEventRecorder(): Promise<EventRecorder> {
  const events: RecordedEvent[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let event: any;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        res.writeHead(400).end();
        return;
      }
      const rc = event.requestContext ?? {};
      events.push({
        routeKey: rc.routeKey,
        eventType: rc.eventType,
        connectionId: rc.connectionId,
        body: event.body,
        disconnectStatusCode: rc.disconnectStatusCode,
        disconnectReason: rc.disconnectReason,
        event,
      });
      const reply = (o: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      if (rc.routeKey === '$connect') {
        const q = event.queryStringParameters ?? {};
        if (q.deny) return reply({ statusCode: 403 });
        const directives: Record<string, unknown> = {};
        if (q.user) directives.principalId = q.user;
        if (q.group) directives.join = String(q.group).split(',');
        return reply(Object.keys(directives).length ? { statusCode: 200, switchboard: directives } : { statusCode: 200 });
      }
      if (rc.routeKey === '$disconnect') return reply({ statusCode: 200 });
      return reply({ statusCode: 200, body: `echo: ${event.body}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    events,
    of: (routeKey) => events.filter((e) => e.routeKey === routeKey),
    idOf: async (tag, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = events.find((x) => x.routeKey === '$connect' && x.event.queryStringParameters?.tag === tag);
        if (e) return e.connectionId;
        if (Date.now() > deadline) throw new Error(`no $connect with tag ${tag} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    routes: () => ({
      $connect: { http: `${base}/connect` },
      $disconnect: { http: `${base}/disconnect` },
      $default: { http: `${base}/default`, routeResponse: true },
    }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
