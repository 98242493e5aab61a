import { connect } from 'node:net';

/** A handshake written by hand (raw socket): any header name, any query. Resolves with the response head and the socket. */
export function rawHandshake(port: number, target: string, headerLines: string[] = []): Promise<{ head: string; status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        s.removeAllListeners('data');
        const head = buf.slice(0, end);
        resolve({ head, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), close: () => s.destroy() });
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed before a response head: ${JSON.stringify(buf)}`)));
    s.write(
      [`GET ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', ...headerLines, '', ''].join('\r\n'),
    );
  });
}
