// Baseline: a bare `ws` server that runs the handshakes scenario's two functions inline, as
// Switchboard runs them: the REQUEST authorizer (token from the query string, policy checked
// for Allow on this route), then $connect with the principal, then the upgrade; 401/403
// otherwise. No events beyond what the functions read, no registry, ids or limits.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { authorizeBench, connectBench } from '../fixtures/handlers.mjs';

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:000000000000:bench/bench/$connect';
const server = createServer((_req, res) => res.writeHead(426).end());
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
const refuse = (socket, status) => socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
server.on('upgrade', async (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  const q = req.url.indexOf('?');
  const query = q < 0 ? {} : Object.fromEntries(new URLSearchParams(req.url.slice(q + 1)));
  let principalId;
  try {
    const auth = await authorizeBench({ type: 'REQUEST', methodArn: METHOD_ARN, queryStringParameters: query, headers: req.headers });
    if (!auth.policyDocument.Statement.some((s) => s.Effect === 'Allow' && s.Resource === METHOD_ARN)) return refuse(socket, 403);
    principalId = auth.principalId;
  } catch {
    return refuse(socket, 401);
  }
  const answer = await connectBench({ requestContext: { authorizer: { principalId } } });
  if (answer.statusCode !== 200) return refuse(socket, 403);
  wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`Baseline listening on ws://127.0.0.1:${server.address().port}/bench`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
