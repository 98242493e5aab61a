// Baseline: a bare `ws` echo server (bufferutil/utf-8-validate as Switchboard has them, no compression).
import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
wss.on('listening', () => console.log(`Baseline listening on ws://127.0.0.1:${wss.address().port}/bench`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
