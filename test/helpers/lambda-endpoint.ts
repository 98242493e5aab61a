import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A function of the fake Lambda: returns the result, or throws (an Unhandled function error). */
export type FakeFunction = (event: any) => unknown;

/** One Invoke request as the fake Lambda saw it. */
export interface InvokeRecord {
  functionName: string;
  qualifier: string | undefined;
  headers: IncomingMessage['headers'];
  event: any;
  aborted: boolean;
}

/**
 * A small Lambda-compatible Invoke endpoint on node:http, following the wire contract of
 * POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=]: a SigV4 Authorization
 * header required (403 MissingAuthenticationTokenException without), FunctionName as a name or
 * a (partial) ARN with an optional `:qualifier`, 404 `x-amzn-ErrorType:
 * ResourceNotFoundException` for an unknown function, 200 with the JSON result (`null` for
 * undefined), and for a function that throws 200 with `X-Amz-Function-Error: Unhandled` and
 * `{errorType, errorMessage, trace}`; a function may also ask for `Handled`.
 */
export async function startFakeLambda(functions: Record<string, FakeFunction>): Promise<{ url: string; calls: InvokeRecord[]; close(): Promise<void> }> {
  const calls: InvokeRecord[] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(u.pathname);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': 'fake-request-id', ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || m === null) return json(404, { message: 'Unknown operation' }, { 'x-amzn-ErrorType': 'UnknownOperationException' });
      if (!/^AWS4-HMAC-SHA256 Credential=\S+, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/.test(req.headers.authorization ?? '')) {
        return json(403, { message: 'Missing Authentication Token' }, { 'x-amzn-ErrorType': 'MissingAuthenticationTokenException' });
      }
      let name = decodeURIComponent(m[1]!);
      let qualifier = u.searchParams.get('Qualifier') ?? undefined;
      const arn = /^(?:arn:[^:]+:lambda:[^:]+:)?(?:\d{12}:)?function:([^:]+)(?::([^:]+))?$/.exec(name) ?? /^([^:]+)(?::([^:]+))?$/.exec(name);
      if (arn) {
        name = arn[1]!;
        qualifier ??= arn[2];
      }
      const record: InvokeRecord = { functionName: name, qualifier, headers: req.headers, event: JSON.parse(Buffer.concat(chunks).toString() || 'null'), aborted: false };
      calls.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.aborted = true;
      });
      const fn = functions[name];
      if (!fn) return json(404, { Type: 'User', message: `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${name}` }, { 'x-amzn-ErrorType': 'ResourceNotFoundException' });
      Promise.resolve()
        .then(() => fn(record.event))
        .then(
          (result) => {
            if (res.destroyed) return;
            const handled = result !== null && typeof result === 'object' && (result as { __handledError?: unknown }).__handledError;
            if (handled) return json(200, { errorType: 'HandledError', errorMessage: String(handled) }, { 'X-Amz-Function-Error': 'Handled', 'X-Amz-Executed-Version': '$LATEST' });
            json(200, result === undefined ? null : result, { 'X-Amz-Executed-Version': '$LATEST' });
          },
          (err: Error) => {
            if (!res.destroyed) json(200, { errorType: err.name, errorMessage: err.message, trace: String(err.stack).split('\n') }, { 'X-Amz-Function-Error': 'Unhandled', 'X-Amz-Executed-Version': '$LATEST' });
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
