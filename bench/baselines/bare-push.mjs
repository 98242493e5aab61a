// Baseline: bare `ws` + `node:http` push server with no authentication: POST /push/{id} sends
// the body to that socket (answering "whoami" so clients learn their id), POST /fanout sends
// the body to every socket. What Switchboard does with SigV4, a registry and AWS error shapes.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
const sockets = new Map();
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url === '/fanout') {
      let sent = 0;
      for (const ws of sockets.values()) {
        ws.send(body, { binary: false });
        sent++;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(`{"sent":${sent}}`);
    }
    const ws = sockets.get(decodeURIComponent(req.url.slice('/push/'.length)));
    if (!ws) {
      res.writeHead(410);
      return res.end();
    }
    ws.send(body, { binary: false });
    res.writeHead(200);
    res.end();
  });
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  const id = randomBytes(12).toString('base64url');
  sockets.set(id, ws);
  ws.on('message', () => ws.send(JSON.stringify({ connectionId: id })));
  ws.on('close', () => sockets.delete(id));
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`Baseline listening on ws://127.0.0.1:${server.address().port}/bench`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
