import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stderr, so stdout stays free for what the CLI prints for people and
 * scripts (the listening URL, command output). Nothing is logged per message at `info`.
 * `pretty` (or `auto` on a terminal): human-readable lines through pino-pretty, run by pino as a
 * transport (a worker thread), still on stderr.
 */
export function createLogger(level: string, pretty: boolean | 'auto' = false): Logger {
  const base = { level, base: { service: 'switchboard' } };
  if (pretty === true || (pretty === 'auto' && process.stderr.isTTY === true)) {
    return pino(base, pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } }));
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
