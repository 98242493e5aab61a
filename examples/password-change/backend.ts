import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
// In your own project: import { SwitchboardClient } from 'switchboard/client';
import { SwitchboardClient } from '../../src/client/index.js';

/** The close every session of a user gets when the password changes: the browser shows the login page on 4001. */
export const PASSWORD_CHANGED = { code: 4001, reason: 'password changed' } as const;

/**
 * The application backend, cut down to one endpoint:
 *   POST /change-password?user=alice  →  200 {"user":"alice","closed":3}
 * (a real one would check the old password and store the new one first). It ends every open
 * WebSocket session of the user with one signed call to the gateway.
 */
export function createBackend(switchboard: SwitchboardClient): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    req.resume();
    if (url.pathname !== '/change-password') return answer(404, { error: 'not found' });
    if (req.method !== 'POST') return answer(405, { error: 'use POST' });
    const user = url.searchParams.get('user');
    if (!user) return answer(400, { error: 'missing ?user=' });
    // … verify and store the new password here …
    switchboard
      .principal(user)
      .close(PASSWORD_CHANGED)
      .then(
        ({ closed }) => answer(200, { user, closed }),
        (err: Error) => answer(502, { error: `could not end the sessions: ${err.name}: ${err.message}` }),
      );
  });
}

// `node --import tsx examples/password-change/backend.ts`: listens on BACKEND_PORT (3000), calls
// the gateway at SWITCHBOARD_ENDPOINT (http://127.0.0.1:8080/dev) with the AWS credential chain.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const endpoint = process.env.SWITCHBOARD_ENDPOINT ?? 'http://127.0.0.1:8080/dev';
  const port = Number(process.env.BACKEND_PORT ?? 3000);
  createBackend(new SwitchboardClient({ endpoint })).listen(port, '127.0.0.1', () => {
    process.stdout.write(`backend listening on http://127.0.0.1:${port} (gateway: ${endpoint})\n  curl -X POST 'http://127.0.0.1:${port}/change-password?user=alice'\n`);
  });
}
