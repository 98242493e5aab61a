// One echo backend for the HTTP-integration comparison, speaking both peers' protocols:
//   POST /pushpin     Pushpin's WebSocket-over-HTTP (application/websocket-events): echo TEXT events
//   POST /switchboard Switchboard's HTTP integration: the AWS event in, a Lambda proxy answer out
import { createServer } from 'node:http';

/** Parses "TYPE[ hexlen]\r\n[content\r\n]" events. */
function parseEvents(buf) {
  const events = [];
  let i = 0;
  while (i < buf.length) {
    const eol = buf.indexOf('\r\n', i);
    if (eol === -1) break;
    const [type, hex] = buf.toString('latin1', i, eol).split(' ');
    i = eol + 2;
    let content = Buffer.alloc(0);
    if (hex !== undefined) {
      const n = parseInt(hex, 16);
      content = buf.subarray(i, i + n);
      i += n + 2;
    }
    events.push({ type, content });
  }
  return events;
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url === '/switchboard') {
      const event = JSON.parse(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ statusCode: 200, body: event.body }));
    }
    const out = [];
    for (const e of parseEvents(body)) {
      if (e.type === 'OPEN') out.push(Buffer.from('OPEN\r\n'));
      else if (e.type === 'TEXT') out.push(Buffer.from(`TEXT ${e.content.length.toString(16)}\r\n`), e.content, Buffer.from('\r\n'));
      else if (e.type === 'CLOSE') out.push(Buffer.from('CLOSE\r\n'));
    }
    res.writeHead(200, { 'content-type': 'application/websocket-events' });
    res.end(Buffer.concat(out));
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`Backend listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
